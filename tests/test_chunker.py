"""Chunks cover every line, fit the model, keep their heading path, and are stable."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.chunker import chunk_document
from indexer.model_files import resolve_model
from indexer.models import Chunk
from indexer.settings import ChunkerSettings
from indexer.tokens import HFTokenCounter

from .conftest import ROOT
from .fakes import WordCounter


def covered_lines(chunks: list[Chunk]) -> set[int]:
    return {n for c in chunks for n, _ in c.numbered_lines()} | {
        n for c in chunks for n in range(c.start_line, c.end_line + 1)
    }


def assert_covers(text: str, chunks: list[Chunk]) -> None:
    covered = covered_lines(chunks)
    lines = text.split("\n")
    missing = [i + 1 for i, line in enumerate(lines) if line.strip() and i + 1 not in covered]
    assert missing == []
    for chunk in chunks:
        assert 1 <= chunk.start_line <= chunk.end_line <= len(lines)
        for number, line in chunk.numbered_lines():
            assert line.strip() == "" or line in lines[number - 1]


@pytest.fixture(scope="module")
def real_counter() -> HFTokenCounter:
    return HFTokenCounter(resolve_model(None).tokenizer_json)


def test_real_corpus_chunks_fit_the_model_and_cover_every_line(real_counter: HFTokenCounter) -> None:
    settings = ChunkerSettings()
    total = 0
    for path in sorted((ROOT / "corpus").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        chunks = chunk_document(path.name, text, real_counter, settings)
        total += len(chunks)
        assert_covers(text, chunks)
        sizes = real_counter.count([c.embed_text() for c in chunks])
        assert max(sizes) <= 256, (path.name, max(sizes))
        assert all(c.heading and c.heading[0] for c in chunks)
    assert total > 30


def test_heading_path_and_lines() -> None:
    text = "# Database\n\n## DynamoDB\n\n- a\n- Maximum size of an item is 400KB\n\n## RDS\n\n- replicas\n"
    chunks = chunk_document("db.md", text, WordCounter())
    by_heading = {c.heading: c for c in chunks}
    dynamo = by_heading[("Database", "DynamoDB")]
    assert "Maximum size of an item is 400KB" in dynamo.text
    assert dynamo.start_line == 1  # the bare "# Database" heading joins its first subsection
    assert dynamo.end_line == 6
    assert by_heading[("Database", "RDS")].start_line == 8
    assert dict(dynamo.numbered_lines())[6] == "- Maximum size of an item is 400KB"


def test_long_section_is_cut_at_block_boundaries_with_overlap() -> None:
    items = [f"- item {i} " + "word " * 10 for i in range(40)]
    text = "# Big\n\n" + "\n".join(items) + "\n"
    settings = ChunkerSettings(max_tokens=64, target_tokens=64, overlap_blocks=1)
    chunks = chunk_document("big.md", text, WordCounter(), settings)
    assert len(chunks) > 5
    counter = WordCounter()
    for chunk in chunks:
        assert counter.count([chunk.embed_text()])[0] <= 64
        for line in chunk.text.split("\n"):  # whole list items only
            assert line.startswith("- item") or line.startswith("# ")
    # neighbouring chunks share one item
    assert chunks[0].text.split("\n")[-1] == chunks[1].text.split("\n")[0]
    assert_covers(text, chunks)


def test_table_rows_and_code_fences_are_never_cut() -> None:
    rows = "\n".join(f"| key{i} | value {i} with some words |" for i in range(30))
    fence = "```\n" + "\n".join(f"code line {i}" for i in range(5)) + "\n```"
    text = f"# T\n\n| a | b |\n|---|---|\n{rows}\n\n{fence}\n"
    settings = ChunkerSettings(max_tokens=48, target_tokens=48)
    chunks = chunk_document("t.md", text, WordCounter(), settings)
    assert_covers(text, chunks)
    for chunk in chunks:
        for line in chunk.text.split("\n"):
            assert not line.startswith("|") or line.endswith("|")
    fenced = [c for c in chunks if "```" in c.text]
    assert len(fenced) == 1 and fenced[0].text.count("```") == 2


def test_over_long_line_is_split_between_words() -> None:
    text = "# L\n\n" + " ".join(f"w{i}" for i in range(500)) + "\n"
    settings = ChunkerSettings(max_tokens=64, target_tokens=64)
    chunks = chunk_document("l.md", text, WordCounter(), settings)
    assert len(chunks) >= 8
    assert all(WordCounter().count([c.embed_text()])[0] <= 64 for c in chunks)
    joined = " ".join(c.text.replace("# L\n", "") for c in chunks)
    assert all(f"w{i}" in joined.split() for i in range(500))


def test_ids_are_stable_and_depend_on_path_heading_and_text() -> None:
    text = "# A\n\n- one\n- two\n"
    first = chunk_document("a.md", text, WordCounter())
    assert [c.id for c in first] == [c.id for c in chunk_document("a.md", text, WordCounter())]
    assert first[0].id != chunk_document("b.md", text, WordCounter())[0].id
    moved = chunk_document("a.md", "\n\n\n" + text, WordCounter())
    assert moved[0].id == first[0].id  # same text, moved down: same id
    assert moved[0].start_line == first[0].start_line + 3


def test_documents_without_headings_and_headings_only() -> None:
    plain = "\n".join(f"line {i} of a note without headings" for i in range(300))
    chunks = chunk_document("plain.txt", plain, WordCounter(), ChunkerSettings(max_tokens=128, target_tokens=128))
    assert_covers(plain, chunks)
    assert all(c.heading == () for c in chunks)
    only = "# A\n## B\n### C\n# D\n"
    chunks = chunk_document("h.md", only, WordCounter())
    assert_covers(only, chunks)


def test_deep_nesting_and_odd_markdown_do_not_break_coverage() -> None:
    nested = "\n".join("  " * i + f"- level {i}" for i in range(60))
    odd = "[ref]: http://example.com\n\n> quote\n> more\n\n<div>\nhtml\n</div>\n\n---\n\nno header | table\nx | y\n"
    for text in (nested, odd):
        chunks = chunk_document("x.md", text, WordCounter(), ChunkerSettings(max_tokens=64, target_tokens=64))
        assert_covers(text, chunks)
        assert all(WordCounter().count([c.embed_text()])[0] <= 64 for c in chunks)


def test_reads_the_real_file_types(tmp_path: Path) -> None:
    from indexer.corpus import read_corpus

    (tmp_path / "sub").mkdir()
    (tmp_path / "a.md").write_text("# A\n- x\n")
    (tmp_path / "sub" / "b.markdown").write_text("# B\n- y\n")
    (tmp_path / "c.txt").write_text("plain\n")
    (tmp_path / "d.pdf").write_bytes(b"%PDF")
    corpus = read_corpus(tmp_path)
    assert [n.rel for n in corpus.notes] == ["a.md", "c.txt", "sub/b.markdown"]
