"""The fast ONNX encoder and sentence-transformers give the same index and the same answers."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from indexer.build import build_index
from indexer.embedder import OnnxEmbedder, SentenceTransformerEmbedder
from indexer.encoder_cache import ensure_onnx
from indexer.index_files import load_index
from indexer.model_files import resolve_model
from indexer.search import Searcher
from indexer.settings import Settings

from .conftest import ROOT

pytestmark = pytest.mark.model

QUESTIONS = [
    "How big can a DynamoDB item be?",
    "which cache keeps its data after a restart?",
    "A partner needs one private object for a day without an account: what do we give them?",
    "Kinesis shard write throughput",
    "convert an Oracle schema to Aurora",
]


def test_onnx_and_sentence_transformers_build_the_same_index(tmp_path: Path, model_cache: Path) -> None:
    model = resolve_model(None)
    record = ensure_onnx(model, model_cache)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("database.md", "cache.md"):
        shutil.copy(ROOT / "corpus" / name, corpus / name)
    reference = SentenceTransformerEmbedder(model)
    fast = OnnxEmbedder(model, record.path)
    built = {}
    for name, embedder in (("st", reference), ("onnx", fast)):
        settings = Settings(corpus_dir=corpus, index_dir=tmp_path / name, cache_dir=model_cache)
        build_index(settings, embedder=embedder, model=model)
        built[name] = load_index(settings.index_dir)
    st, onnx = built["st"], built["onnx"]
    assert st.chunks == onnx.chunks
    np.testing.assert_allclose(st.store.vectors(), onnx.store.vectors(), atol=1e-4)
    np.testing.assert_allclose(st.line_vectors, onnx.line_vectors, atol=1e-4)
    assert st.manifest.encoder.built_with == "sentence-transformers"
    assert onnx.manifest.encoder.backend == "onnx"
    for question in QUESTIONS:
        a = Searcher(st, reference).search(question, k=5)
        b = Searcher(onnx, fast).search(question, k=5)
        assert [h.chunk.id for h in a.hits] == [h.chunk.id for h in b.hits], question
        assert [h.snippet.text for h in a.hits] == [h.snippet.text for h in b.hits], question


def test_a_lost_query_encoder_falls_back_and_index_restores_it(
    tmp_path: Path, model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .test_int8_encoder import questions_embedder

    model = resolve_model(None)
    record = ensure_onnx(model, model_cache)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(ROOT / "corpus" / "cache.md", corpus / "cache.md")
    built_with = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", cache_dir=model_cache)
    build_index(built_with, embedder=OnnxEmbedder(model, record.path), model=model)
    before = load_index(built_with.index_dir).store.vectors()

    emptied = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", cache_dir=tmp_path / "empty-cache")
    embedder, notes = questions_embedder(load_index(emptied.index_dir).manifest, emptied)
    assert embedder.backend == "sentence-transformers"
    assert len(notes) == 1 and "restore it with: notes-qa index" in notes[0]

    # One export per test session: the export itself is tested in test_onnx_encoder; here the session's stands in.
    monkeypatch.setattr("indexer.onnx_export.export_onnx", lambda _model_dir, out: shutil.copyfile(record.path, out))
    build_index(emptied, model=model)  # what `notes-qa index` does: export again, reuse every vector
    after = load_index(emptied.index_dir)
    embedder, notes = questions_embedder(after.manifest, emptied)
    assert embedder.backend == "onnx" and notes == ()
    np.testing.assert_array_equal(after.store.vectors(), before)
