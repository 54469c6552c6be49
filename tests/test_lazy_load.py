"""Loading a large build reads only what a question uses: chunks parsed on first use, the line table from disk."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from indexer import chunk_table, index_files
from indexer.build import build_index
from indexer.chunk_lines import ROWS_FILE, STARTS_FILE, chunk_lines_of, load_chunk_lines
from indexer.chunk_table import ChunkTable
from indexer.errors import IndexFileError
from indexer.index_files import chunk_to_json, load_index
from indexer.model_files import ModelInfo
from indexer.models import Chunk
from indexer.search import Searcher
from indexer.settings import Settings

from .conftest import SMALL_NOTES, small_settings
from .fakes import FakeEmbedder, WordCounter


def chunk_line(i: int) -> str:
    return json.dumps(chunk_to_json(Chunk(f"c{i}", "a.md", ("A",), i + 1, i + 1, f"line {i}"))) + "\n"


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(lines), encoding="utf-8")
    return path


def test_a_small_table_is_checked_whole_when_read(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "chunks.jsonl", [chunk_line(0), "{not json\n", chunk_line(2)])
    with pytest.raises(IndexFileError, match="line 2 is not JSON"):
        ChunkTable.read(path, 3)


def test_a_large_table_parses_a_chunk_when_it_is_used_and_a_damaged_one_fails_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunk_table, "EAGER_CHUNKS", 0)
    path = write_jsonl(tmp_path / "chunks.jsonl", [chunk_line(0), '{"id": 1}\n', chunk_line(2).rstrip("\n")])
    table = ChunkTable.read(path, 3)  # the damaged line 2 is not read yet
    assert len(table) == 3
    assert table[0].text == "line 0" and table[-1].text == "line 2"  # a last line without its newline counts
    assert table[0] is table[0]  # parsed once
    with pytest.raises(IndexFileError, match="line 2 is not a valid chunk"):
        table[1]
    with pytest.raises(IndexError):
        table[3]
    with pytest.raises(IndexFileError, match="line 2"):
        list(table)


def test_a_table_with_another_count_than_the_manifest_is_refused(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "chunks.jsonl", [chunk_line(0), chunk_line(1)])
    with pytest.raises(IndexFileError, match="2 chunks, the manifest says 3"):
        ChunkTable.read(path, 3)
    assert len(ChunkTable.read(write_jsonl(tmp_path / "empty.jsonl", []), 0)) == 0


def build(settings: Settings, model: ModelInfo) -> None:
    build_index(settings, embedder=FakeEmbedder(), token_counter=WordCounter(), model=model)


def test_the_build_writes_each_chunks_line_rows_and_the_searcher_uses_them(
    tmp_path: Path, fake_model: ModelInfo
) -> None:
    settings = small_settings(tmp_path, SMALL_NOTES)
    build(settings, fake_model)
    index = load_index(settings.index_dir)
    assert {ROWS_FILE, STARTS_FILE} <= set(index.manifest.files)
    computed = chunk_lines_of(index.chunks, [(r.path, r.line) for r in index.line_rows])
    assert np.array_equal(index.chunk_lines.rows, computed.rows)
    assert np.array_equal(index.chunk_lines.starts, computed.starts)
    assert (computed.rows >= 0).any() and (computed.rows == -1).any()  # headings have no vector
    for i, chunk in enumerate(index.chunks):  # each row is the vector of that very line
        for (number, _), row in zip(chunk.numbered_lines(), index.chunk_lines.of(i).tolist()):
            assert row == -1 or (index.line_rows[row].path, index.line_rows[row].line) == (chunk.path, number)
    answer = Searcher(index, FakeEmbedder()).search("How big can a DynamoDB item be?", k=3)
    assert answer.hits and answer.hits[0].chunk.path == "database.md"


def test_a_build_without_the_table_gets_it_computed_and_answers_the_same(
    tmp_path: Path, fake_model: ModelInfo
) -> None:
    settings = small_settings(tmp_path, SMALL_NOTES)
    build(settings, fake_model)
    with_table = load_index(settings.index_dir)
    manifest_path = with_table.folder / "manifest.json"
    raw = json.loads(manifest_path.read_text())
    for name in (ROWS_FILE, STARTS_FILE):  # as a build from before the table existed
        del raw["files"][name], raw["file_sizes"][name]
        (with_table.folder / name).unlink()
    manifest_path.write_text(json.dumps(raw))
    without = load_index(settings.index_dir)
    assert np.array_equal(without.chunk_lines.rows, with_table.chunk_lines.rows)
    question = "which cache keeps its data after a restart?"
    old = Searcher(without, FakeEmbedder()).search(question, k=5)
    new = Searcher(with_table, FakeEmbedder()).search(question, k=5)
    assert [(h.chunk.id, h.snippet.text, h.answer_line) for h in old.hits] == [
        (h.chunk.id, h.snippet.text, h.answer_line) for h in new.hits
    ]


def test_a_table_that_does_not_fit_the_build_is_refused(tmp_path: Path) -> None:
    def save(rows: list[int], starts: list[int]) -> None:
        np.save(tmp_path / ROWS_FILE, np.array(rows, dtype=np.int64))
        np.save(tmp_path / STARTS_FILE, np.array(starts, dtype=np.int64))

    save([0, -1, 1], [0, 2, 3])
    assert load_chunk_lines(tmp_path, chunks=2, lines=2).of(0).tolist() == [0, -1]
    for rows, starts, chunks, lines in (
        ([0, -1, 2], [0, 2, 3], 2, 2),  # a row past the line vectors
        ([0, -2, 1], [0, 2, 3], 2, 2),  # below -1
        ([0, -1, 1], [0, 2, 3], 3, 2),  # another chunk count
        ([0, -1, 1], [0, 3, 3], 2, 2),  # a chunk without lines
        ([0, -1, 1], [1, 2, 3], 2, 2),  # not starting at 0
    ):
        save(rows, starts)
        with pytest.raises(IndexFileError, match=ROWS_FILE):
            load_chunk_lines(tmp_path, chunks=chunks, lines=lines)


def test_lines_json_of_a_large_build_is_read_when_used(
    tmp_path: Path, fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = small_settings(tmp_path, SMALL_NOTES)
    build(settings, fake_model)
    folder = load_index(settings.index_dir).folder
    text = (folder / "lines.json").read_text()
    (folder / "lines.json").write_text(text.replace('"rows"', '"rowz"', 1))  # same size: passes the load check
    with pytest.raises(IndexFileError, match="lines.json"):
        load_index(settings.index_dir)  # a small build: read and checked when loaded
    monkeypatch.setattr(index_files, "EAGER_CHUNKS", 0)
    monkeypatch.setattr(chunk_table, "EAGER_CHUNKS", 0)
    index = load_index(settings.index_dir)
    assert Searcher(index, FakeEmbedder()).search("DynamoDB item size", k=2).hits  # answering needs no rows
    with pytest.raises(IndexFileError, match="lines.json"):
        index.line_rows[0]


def test_many_lines_get_an_index_of_their_own_and_an_exact_one_finds_what_the_scan_finds(
    tmp_path: Path, fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from indexer import search, store
    from indexer.index_files import LINE_INDEX
    from indexer.store import StoreSpec, VectorStore

    settings = small_settings(tmp_path, SMALL_NOTES)
    build(settings, fake_model)
    assert LINE_INDEX not in load_index(settings.index_dir).manifest.files  # few lines: scanned
    # As at a large size, but probing every list: the index is exact, so it must agree with the scan.
    monkeypatch.setattr(store, "choose_spec", lambda n, dim: StoreSpec("ivf", {"nlist": 2, "nprobe": 2}))
    build_index(settings, full=True, embedder=FakeEmbedder(), token_counter=WordCounter(), model=fake_model)
    index = load_index(settings.index_dir)
    assert LINE_INDEX in index.manifest.files and isinstance(index.line_index, VectorStore)
    assert index.line_index.spec.kind == "ivf" and index.line_index.ntotal == len(index.line_rows)
    monkeypatch.setattr(search, "EXACT_CHUNKS", 0)  # the candidate-list path, which searches the line index
    scanned = Searcher(replace(index, line_index=None), FakeEmbedder())
    indexed = Searcher(index, FakeEmbedder())
    assert indexed.line_index is index.line_index and scanned.line_index is scanned.line_vectors
    for question in ("How big can a DynamoDB item be?", "which cache is multi-threaded", "temporary access"):
        old, new = (s.search(question, k=5) for s in (scanned, indexed))
        assert [(h.chunk.id, h.score, h.answer_line) for h in new.hits] == [
            (h.chunk.id, h.score, h.answer_line) for h in old.hits
        ]


def test_tables_compare_by_their_chunks(tmp_path: Path) -> None:
    one = ChunkTable.read(write_jsonl(tmp_path / "one.jsonl", [chunk_line(0), chunk_line(1)]), 2)
    same = ChunkTable.read(write_jsonl(tmp_path / "same.jsonl", [chunk_line(0), chunk_line(1)]), 2)
    other = ChunkTable.read(write_jsonl(tmp_path / "other.jsonl", [chunk_line(0), chunk_line(2)]), 2)
    assert one == same and one != other and tuple(one) == tuple(same)
