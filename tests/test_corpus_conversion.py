"""The Markdown corpus holds every line of the source notes, unchanged."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, shared_file

SOURCE = shared_file("notes/000_7235ff98d3537bbe.txt")
CORPUS = ROOT / "corpus"


def corpus_lines() -> list[str]:
    return [line for path in sorted(CORPUS.glob("*.md")) for line in path.read_text(encoding="utf-8").split("\n")]


@pytest.mark.skipif(not SOURCE.exists(), reason="the shared notes are not found (set NOTES_QA_SHARED to the shared folder)")
def test_every_source_line_is_in_the_corpus_unchanged() -> None:
    lines = corpus_lines()
    present = set(lines)
    missing = []
    for number, line in enumerate(SOURCE.read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        section = re.fullmatch(r"=== (.+) ===", line)
        if section:
            ok = any(x.startswith("# ") and x[2:].lower() == section.group(1).lower() for x in lines)
        else:
            ok = line in present or f"## {line}" in present
        if not ok:
            missing.append((number, line))
    assert not missing, missing[:5]
    # Nothing was added but headings and blank lines.
    source = set(SOURCE.read_text(encoding="utf-8").split("\n"))
    extra = [x for x in lines if x.strip() and x not in source and not x.startswith("#")]
    assert extra == []


def test_corpus_has_one_file_per_top_section() -> None:
    names = sorted(p.name for p in CORPUS.glob("*.md"))
    assert names == ["cache.md", "data-stream.md", "database.md", "migration.md", "storage.md"]
    for path in CORPUS.glob("*.md"):
        first = path.read_text(encoding="utf-8").split("\n")[0]
        assert first.startswith("# ")


@pytest.mark.skipif(not SOURCE.exists(), reason="the shared notes are not found (set NOTES_QA_SHARED to the shared folder)")
def test_conversion_script_reproduces_the_corpus(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "convert_notes.py"), str(SOURCE), str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for path in CORPUS.glob("*.md"):
        assert (tmp_path / path.name).read_text(encoding="utf-8") == path.read_text(encoding="utf-8")
