"""The engine imports without the UI or the heavy model libraries."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("textual", "torch", "sentence_transformers", "transformers", "faiss", "bm25s", "onnxruntime", "scipy", "mcp",
         "watchfiles")


def loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_importing_the_engine_is_light() -> None:
    modules = loaded_after(
        "import indexer, indexer.build, indexer.search, indexer.service, indexer.cli, indexer.cli.main, "
        "indexer.chunker, indexer.evaluate.notes_eval, indexer.cli.mcp_cmd, indexer.mcp_tools, "
        "indexer.watch, indexer.query_syntax, indexer.cli.watch_cmd"
    )
    assert not {m.split(".")[0] for m in modules} & set(HEAVY)


def test_engine_never_imports_the_tui() -> None:
    modules = loaded_after("import indexer.cli.main, indexer.service")
    assert "tui" not in {m.split(".")[0] for m in modules}
