"""What a build takes from the previous one, and the reason it gives when it takes nothing."""

from __future__ import annotations

import pytest

from indexer.build import build_index
from indexer.index_files import chunk_to_json, current_build, load_index
from indexer.model_files import ModelInfo
from indexer.models import Chunk
from indexer.reuse import reusable_vectors
from indexer.settings import Settings
from indexer.text_keys import text_key

from .fakes import FakeEmbedder, WordCounter


def test_reasons_for_embedding_everything_again(notes_settings: Settings, fake_model: ModelInfo) -> None:
    assert reusable_vectors(None, "fp", "fp32").reason == "no previous index"
    assert reusable_vectors(None, "fp", "fp32", full=True).reason == "no previous index"
    build_index(notes_settings, embedder=FakeEmbedder(), token_counter=WordCounter(), model=fake_model)
    folder = current_build(notes_settings.index_dir)
    assert folder is not None
    fp = load_index(notes_settings.index_dir).manifest.fingerprint

    same = reusable_vectors(folder, fp, "fp32")
    index = load_index(notes_settings.index_dir)
    assert same.reason == "incremental" and len(same.vectors) >= len(index.chunks)
    assert (same.vectors[text_key(index.chunks[0].embed_text())] == index.store.vectors()[0]).all()
    full = reusable_vectors(folder, fp, "fp32", full=True)
    assert (full.vectors, full.reason) == ({}, "full rebuild (--full)")
    assert reusable_vectors(folder, "other", "fp32").reason == "the model or chunker settings changed: full rebuild"

    with (folder / "lines.json").open("a") as handle:
        handle.write(" ")
    for damaged in (reusable_vectors(folder, fp, "fp32"), reusable_vectors(folder, fp, "fp32", full=True)):
        assert damaged.vectors == {}
        # the index error's message without its fix: the build is that fix
        assert damaged.reason == f"the previous index is unusable (index file {folder / 'lines.json'} does not match " \
                                 "its checksum (damaged or edited)): full rebuild"


def test_a_refresh_writes_unchanged_chunks_as_they_were_and_the_file_a_full_build_writes(
    notes_settings: Settings, fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from indexer import build

    def built(**kw: bool) -> bytes:
        build_index(notes_settings, embedder=FakeEmbedder(), token_counter=WordCounter(), model=fake_model, **kw)
        folder = current_build(notes_settings.index_dir)
        assert folder is not None
        return (folder / "chunks.jsonl").read_bytes()

    built()
    encoded: list[str] = []

    def counting(chunk: Chunk) -> dict[str, object]:
        encoded.append(chunk.path)
        return chunk_to_json(chunk)

    monkeypatch.setattr(build, "chunk_to_json", counting)
    (notes_settings.corpus_dir / "cache.md").write_text("# Cache\n\n## Valkey\n\n- open-source badgers\n")
    refreshed = built()
    assert encoded and set(encoded) == {"cache.md"}  # only the changed note's chunks are encoded again
    encoded.clear()
    assert built(full=True) == refreshed and len(encoded) == refreshed.count(b"\n")
