"""The engine imports without the UI or the heavy model libraries; the layers hold (import-linter)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("textual", "torch", "sentence_transformers", "transformers", "faiss", "bm25s", "onnxruntime", "scipy", "mcp",
         "watchfiles", "pymilvus", "milvus_lite")
ROOT = Path(__file__).resolve().parents[1]


def loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_importing_the_engine_and_the_command_line_is_light() -> None:
    modules = loaded_after(
        "import indexer, indexer.build, indexer.search, indexer.service, notes_qa_cli, notes_qa_cli.main, "
        "indexer.chunker, indexer.evaluate.notes_eval, notes_qa_cli.mcp_cmd, indexer.mcp_tools, "
        "indexer.watch, indexer.query_syntax, notes_qa_cli.watch_cmd, indexer.terms, indexer.modes, "
        "indexer.milvus_index, indexer.store_choice"
    )
    assert not {m.split(".")[0] for m in modules} & set(HEAVY)


def test_engine_never_imports_the_tui_or_the_command_line() -> None:
    # Every engine module but the MCP server (which loads the SDK on purpose), each imported.
    names = sorted(f"indexer.{'.'.join(p.relative_to(ROOT / 'indexer').with_suffix('').parts)}"
                   for p in (ROOT / "indexer").rglob("*.py") if p.name not in ("__init__.py", "mcp_server.py"))
    assert "indexer.search" in names
    modules = loaded_after("import " + ", ".join(names))
    assert not {m.split(".")[0] for m in modules} & {"tui", "notes_qa_cli", "textual"}


def test_import_contracts_hold() -> None:
    """The contracts in pyproject.toml ([tool.importlinter]): cli -> tui -> indexer, and no textual in indexer.

    Unlike the tests above, this also sees imports deferred into functions (``notes-qa tui`` loads the app).
    """
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint_imports is None:  # pragma: no cover - import-linter is in the test extra
        pytest.fail("lint-imports is not installed; run: pip install -e '.[test]'")
    done = subprocess.run([lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout, done.stdout
