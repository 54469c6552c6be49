"""Building, refreshing and searching an index, with the fake embedder."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from indexer.build import build_index, index_status
from indexer.errors import IndexFileError, UsageError
from indexer.index_files import current_build, load_index, read_manifest, verify_files
from indexer.model_files import ModelInfo
from indexer.search import Searcher
from indexer.settings import Settings

from .fakes import FakeEmbedder, WordCounter


def build(settings: Settings, model: ModelInfo, embedder: FakeEmbedder | None = None, **kw: object):  # type: ignore[no-untyped-def]
    return build_index(settings, embedder=embedder or FakeEmbedder(), token_counter=WordCounter(), model=model, **kw)  # type: ignore[arg-type]


def searcher(settings: Settings) -> Searcher:
    return Searcher(load_index(settings.index_dir), FakeEmbedder())


def test_build_writes_the_documented_files(notes_settings: Settings, fake_model: ModelInfo) -> None:
    report = build(notes_settings, fake_model)
    folder = current_build(notes_settings.index_dir)
    assert folder is not None and report.index_dir == folder
    names = {p.name for p in folder.iterdir()}
    assert {"manifest.json", "vectors.faiss", "chunks.jsonl", "lines.npy", "lines.json", "bm25.vocab.json"} <= names
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format_version"] == 1
    assert manifest["model"]["dim"] == 64
    assert manifest["corpus"]["notes"] == 3 and "files" not in manifest["corpus"]  # records in the note files
    assert json.loads((folder / "notes.json").read_text())["paths"] == ["cache.md", "database.md", "storage.md"]
    assert {"notes.json", "notes.stat.npy", "notes.sha256.npy"} <= names
    assert set(manifest["files"]) == names - {"manifest.json"}
    assert manifest["counts"]["chunks"] == report.chunks == sum(1 for _ in (folder / "chunks.jsonl").open())
    record = json.loads((folder / "chunks.jsonl").read_text().split("\n")[0])
    assert set(record) >= {"id", "path", "heading", "start_line", "end_line", "text"}


def test_search_finds_the_answer_with_snippet_and_highlights(notes_settings: Settings, fake_model: ModelInfo) -> None:
    build(notes_settings, fake_model)
    result = searcher(notes_settings).search("maximum item size 400KB", k=3)
    top = result.hits[0]
    assert top.chunk.heading == ("Database", "DynamoDB")
    assert "400KB" in top.snippet.text
    assert 6 in top.snippet.line_numbers
    marked = {top.snippet.text[s.start : s.end].lower() for s in top.snippet.highlights}
    assert {"maximum", "400kb"} <= marked
    assert [h.rank for h in result.hits] == list(range(1, len(result.hits) + 1))
    assert all(a.score >= b.score for a, b in zip(result.hits, result.hits[1:]))


@pytest.mark.parametrize("mode", ["hybrid", "dense", "keyword"])
def test_every_mode_answers(notes_settings: Settings, fake_model: ModelInfo, mode: str) -> None:
    build(notes_settings, fake_model)
    hits = searcher(notes_settings).search("Memcached multi-threaded", k=2, mode=mode).hits
    assert hits and hits[0].chunk.heading == ("Cache", "ElastiCache")


def test_bad_queries_are_refused(notes_settings: Settings, fake_model: ModelInfo) -> None:
    build(notes_settings, fake_model)
    s = searcher(notes_settings)
    for query, k, mode in (("   ", 5, "hybrid"), ("x", 0, "hybrid"), ("x", 5, "fuzzy"), ("\x1b\x07", 5, "dense")):
        with pytest.raises(UsageError):
            s.search(query, k=k, mode=mode)
    assert len(s.search("s3 " * 50_000, k=3).hits) <= 3


def test_incremental_rebuild_reuses_vectors_and_equals_full(notes_settings: Settings, fake_model: ModelInfo) -> None:
    build(notes_settings, fake_model)
    path = notes_settings.corpus_dir / "cache.md"
    path.write_text(path.read_text() + "- Valkey is the open-source version of Redis\n")
    assert index_status(notes_settings).state == "stale"
    embedder = FakeEmbedder()
    report = build(notes_settings, fake_model, embedder=embedder)
    assert report.reason == "incremental"
    assert 0 < report.embedded < 6  # only the changed chunk and the new line
    texts = report.chunks + report.lines
    assert texts - report.embedded <= report.reused < texts  # the rest came from the previous build
    again = build(notes_settings, fake_model)
    assert (again.embedded, again.reused) == (0, texts)
    incremental = load_index(notes_settings.index_dir)
    build(notes_settings, fake_model, full=True)
    full = load_index(notes_settings.index_dir)
    assert tuple(incremental.chunks) == tuple(full.chunks)
    assert (incremental.store.vectors() == full.store.vectors()).all()
    assert (incremental.line_vectors == full.line_vectors).all()
    assert index_status(notes_settings).state == "fresh"


class RecordingCounter(WordCounter):
    """The word counter, keeping every text the chunker asked it to count."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def count(self, texts: Sequence[str]) -> list[int]:
        self.seen.extend(texts)
        return super().count(texts)


def test_an_incremental_build_cuts_only_the_changed_notes(notes_settings: Settings, fake_model: ModelInfo) -> None:
    build(notes_settings, fake_model)
    (notes_settings.corpus_dir / "cache.md").write_text("# Cache\n\n## Valkey\n\n- open-source badgers\n")
    (notes_settings.corpus_dir / "storage.md").rename(notes_settings.corpus_dir / "s3.md")  # same text, new path
    counter = RecordingCounter()
    build_index(notes_settings, embedder=FakeEmbedder(), token_counter=counter, model=fake_model)
    counted = "\n".join(counter.seen)
    assert "badgers" in counted and "S3" in counted  # the changed note and the renamed one are cut again
    assert "DynamoDB" not in counted  # database.md did not change: its chunks come from the previous build
    incremental = load_index(notes_settings.index_dir)
    assert {c.path for c in incremental.chunks} == {"cache.md", "database.md", "s3.md"}
    build(notes_settings, fake_model, full=True)
    assert tuple(incremental.chunks) == tuple(load_index(notes_settings.index_dir).chunks)


def test_deleted_and_renamed_notes_leave_the_index(notes_settings: Settings, fake_model: ModelInfo) -> None:
    build(notes_settings, fake_model)
    (notes_settings.corpus_dir / "cache.md").unlink()
    (notes_settings.corpus_dir / "storage.md").rename(notes_settings.corpus_dir / "s3.md")
    embedder = FakeEmbedder()
    build(notes_settings, fake_model, embedder=embedder)
    paths = {c.path for c in load_index(notes_settings.index_dir).chunks}
    assert paths == {"database.md", "s3.md"}
    assert embedder.texts_embedded == 0  # the renamed note's text was embedded before


def test_changed_settings_force_a_full_rebuild(notes_settings: Settings, fake_model: ModelInfo) -> None:
    from dataclasses import replace

    build(notes_settings, fake_model)
    other = replace(notes_settings, chunker=replace(notes_settings.chunker, target_tokens=32))
    report = build(other, fake_model)
    assert "full rebuild" in report.reason and report.reused == 0


def test_previous_build_answers_until_the_new_one_is_complete(notes_settings: Settings, fake_model: ModelInfo) -> None:
    build(notes_settings, fake_model)
    before = current_build(notes_settings.index_dir)

    class Boom(FakeEmbedder):
        def _encode(self, texts):  # type: ignore[no-untyped-def]
            raise KeyboardInterrupt

    (notes_settings.corpus_dir / "new.md").write_text("# New\n- fresh text\n")
    with pytest.raises(KeyboardInterrupt):
        build(notes_settings, fake_model, embedder=Boom())
    assert current_build(notes_settings.index_dir) == before
    assert searcher(notes_settings).search("400KB").hits
    assert not list(notes_settings.index_dir.glob("tmp-*"))


def test_tampered_files_are_refused(notes_settings: Settings, fake_model: ModelInfo) -> None:
    """A load checks sizes and structure; a byte changed in place is found by the full check (``verify``)."""
    build(notes_settings, fake_model)
    folder = current_build(notes_settings.index_dir)
    assert folder is not None
    vectors = folder / "vectors.faiss"
    data = bytearray(vectors.read_bytes())
    data[len(data) // 2] ^= 0xFF
    vectors.write_bytes(bytes(data))
    with pytest.raises(IndexFileError, match="vectors.faiss does not match its checksum"):
        verify_files(folder, read_manifest(folder))
    vectors.write_bytes(bytes(data[:-1]))
    with pytest.raises(IndexFileError, match="vectors.faiss is .* bytes, the manifest says"):
        load_index(notes_settings.index_dir)


def test_missing_index_is_explained(tmp_path: Path) -> None:
    with pytest.raises(IndexFileError, match="no index at") as caught:
        load_index(tmp_path / "nothing")
    assert caught.value.fix == "build it with: notes-qa index"


def test_crowding_neighbouring_chunks_are_dropped(tmp_path: Path, fake_model: ModelInfo) -> None:
    from indexer.settings import ChunkerSettings

    lines = "\n".join(f"- kinesis shard fact number {i} about streams" for i in range(40))
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "k.md").write_text(f"# Kinesis\n{lines}\n")
    settings = Settings(corpus, tmp_path / "i", cache_dir=tmp_path, chunker=ChunkerSettings(target_tokens=40, max_tokens=40))
    build(settings, fake_model)
    hits = searcher(settings).search("kinesis shard streams", k=10).hits
    spans = [(h.snippet.start_line, h.snippet.end_line) for h in hits]
    for i, (a, b) in enumerate(spans):
        for c, d in spans[i + 1 :]:
            assert b < c or d < a  # no snippet lines shown twice
