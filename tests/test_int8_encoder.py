"""The int8 encoder with the real model: the index is built and queried with one
quantized file, its vectors stay close to the reference, and a lost file is made again."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from indexer.build import build_index
from indexer.embedder import Embedder, OnnxEmbedder, SentenceTransformerEmbedder
from indexer.embedder_factory import query_embedder
from indexer.encoder_cache import cached_onnx, encoder_file, ensure_onnx
from indexer.errors import ModelError
from indexer.fileio import sha256_file
from indexer.index_files import load_index
from indexer.manifest import Manifest
from indexer.model_files import resolve_model
from indexer.service import open_searcher
from indexer.settings import Settings

from .conftest import ROOT

pytestmark = pytest.mark.model


def questions_embedder(manifest: Manifest, settings: Settings) -> tuple[Embedder, tuple[str, ...]]:
    """What ``open_searcher`` asks the factory for, given an index's manifest."""
    return query_embedder(manifest.model, manifest.encoder, settings.model_dir, settings.cache_dir)


@pytest.fixture(scope="module")
def int8_index(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Settings:
    root = tmp_path_factory.mktemp("int8")
    (root / "corpus").mkdir()
    for name in ("database.md", "cache.md"):
        shutil.copy(ROOT / "corpus" / name, root / "corpus" / name)
    settings = Settings(corpus_dir=root / "corpus", index_dir=root / "index", cache_dir=model_cache, precision="int8")
    report = build_index(settings)
    assert report.precision == "int8" and report.backend == "onnx"
    return settings


def test_the_fp32_export_is_fused_and_still_gives_the_reference_vectors(model_cache: Path) -> None:
    import onnx

    model = resolve_model(None)
    record = ensure_onnx(model, model_cache)
    ops = {node.op_type for node in onnx.load(str(record.path), load_external_data=False).graph.node}
    assert "Attention" in ops  # onnxruntime's fusion took
    texts = ["How big can a DynamoDB item be?", "Redis persistence with AOF " * 40, "é 東京 🙂"]
    got = OnnxEmbedder(model, record.path).embed_documents(texts)
    want = SentenceTransformerEmbedder(model).embed_documents(texts)
    assert float(np.abs(got - want).max()) < 1e-4


def test_index_and_questions_use_the_same_int8_file(int8_index: Settings) -> None:
    index = load_index(int8_index.index_dir)
    encoder = index.manifest.encoder
    assert encoder.precision == "int8" and encoder.built_with == "onnx" and encoder.backend == "onnx"
    assert encoder.file is not None
    path = Path(encoder.file)
    assert path.name == "model-int8.onnx" and encoder.sha256 == sha256_file(path)

    embedder, notes = questions_embedder(index.manifest, Settings(cache_dir=int8_index.cache_dir))
    assert isinstance(embedder, OnnxEmbedder) and embedder.precision == "int8" and notes == ()
    # the query path's vectors for the indexed texts are the stored ones
    texts = [c.embed_text() for c in index.chunks]
    np.testing.assert_allclose(embedder.embed_queries(texts), index.store.vectors(), atol=1e-6)


def test_int8_vectors_are_close_to_the_reference_and_answer_the_same(int8_index: Settings) -> None:
    model = resolve_model(None)
    index = load_index(int8_index.index_dir)
    reference = SentenceTransformerEmbedder(model).embed_documents([c.embed_text() for c in index.chunks])
    cosines = (reference * index.store.vectors()).sum(axis=1)
    assert float(cosines.min()) > 0.97 and float(cosines.mean()) > 0.99
    opened = open_searcher(int8_index, auto_build=False)
    hit = opened.searcher.search("How big can a DynamoDB item be?", k=3).hits[0]
    assert "Maximum size of an item is 400KB" in hit.snippet.text


def test_a_lost_int8_file_is_made_again_identically(int8_index: Settings) -> None:
    model = resolve_model(None)
    path = encoder_file(model, int8_index.cache_dir, "int8")
    before = sha256_file(path)
    path.unlink()
    assert cached_onnx(model, int8_index.cache_dir, precision="int8") is None
    embedder, notes = questions_embedder(load_index(int8_index.index_dir).manifest, Settings(cache_dir=int8_index.cache_dir))
    assert notes == ("made the int8 query encoder again (it was missing)",)
    assert sha256_file(path) == before and embedder.precision == "int8"


def test_an_altered_int8_file_that_cannot_be_matched_is_an_error(int8_index: Settings, tmp_path: Path) -> None:
    manifest = load_index(int8_index.index_dir).manifest
    # as if built from another quantizer version
    manifest = dataclasses.replace(manifest, encoder=dataclasses.replace(manifest.encoder, sha256="0" * 64))
    with pytest.raises(ModelError, match=r"a new one differs") as raised:
        questions_embedder(manifest, Settings(cache_dir=int8_index.cache_dir))
    assert raised.value.fix == "rebuild with: notes-qa index --full --encoder int8"
