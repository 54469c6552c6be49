"""The embedder seam: the recorded choice, the backend registry, documents versus questions, model config."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from indexer.build import build_index
from indexer.embedder import EmbedderChoice, SentenceTransformerEmbedder
from indexer.embedder_factory import (
    choice_for,
    embedder_for_build,
    embedder_for_index,
    query_embedder,
    register_backend,
    restore_backends,
    saved_backends,
)
from indexer.errors import REBUILD, ModelError
from indexer.index_files import load_index
from indexer.manifest import ModelRecord
from indexer.model_config import read_model_config
from indexer.model_files import ModelInfo
from indexer.service import open_searcher
from indexer.settings import Settings

from .fakes import FakeBackend, FakeEmbedder, WordCounter

ONNX_SECTION = {
    "variant": "int8",
    "build": "onnx",
    "query": {"kind": "onnx", "variant": "int8", "file": "/cache/model-int8.onnx", "sha256": "ab" * 32},
}


@pytest.mark.parametrize(
    "section",
    [ONNX_SECTION, {"variant": "fp32", "build": "fake", "query": {"kind": "fake", "variant": "fp32"}}],
    ids=["onnx", "no file"],
)
def test_the_choice_reads_and_writes_the_manifest_section_unchanged(section: dict[str, object]) -> None:
    choice = EmbedderChoice.from_json(json.loads(json.dumps(section)))
    assert choice.to_json() == section
    assert EmbedderChoice.from_json(choice.to_json()) == choice


def test_the_choice_of_an_onnx_index_names_its_file() -> None:
    choice = EmbedderChoice.from_json(ONNX_SECTION)
    assert (choice.backend, choice.precision, choice.built_with) == ("onnx", "int8", "onnx")
    assert choice.file == "/cache/model-int8.onnx" and choice.sha256 == "ab" * 32


@pytest.mark.parametrize("section", [None, {}, {"variant": "fp32", "build": "sentence-transformers"}, "garbage"])
def test_an_index_without_a_query_record_is_asked_with_sentence_transformers(section: object) -> None:
    choice = EmbedderChoice.from_json(section)
    assert choice.backend == "sentence-transformers" and choice.precision == "fp32"


def test_a_registered_backend_builds_and_answers(notes_settings: Settings, fake_model: ModelInfo) -> None:
    backend = FakeBackend()
    register_backend("fake", backend, for_builds=True)
    build_index(notes_settings, token_counter=WordCounter(), model=fake_model)
    assert backend.built == 1
    manifest = load_index(notes_settings.index_dir).manifest
    assert manifest.encoder == EmbedderChoice("fake", "fp32", "fake")
    embedder, notes = embedder_for_index(manifest.encoder, fake_model,
                                         notes_settings.cache_dir)
    assert isinstance(embedder, FakeEmbedder) and notes == () and backend.opened == 1


def test_a_saved_registry_is_restored_and_unknown_backends_get_the_reference(tmp_path: Path) -> None:
    # what tests/conftest.py does around every test
    choice = EmbedderChoice("fake", "fp32", "fake")
    model = ModelInfo(tmp_path, "m", "f" * 64, 8, 16, tmp_path / "tokenizer.json")
    saved = saved_backends()
    register_backend("fake", FakeBackend(), for_builds=True)
    assert isinstance(embedder_for_index(choice, model, tmp_path)[0], FakeEmbedder)
    assert isinstance(embedder_for_build(model, tmp_path, "fp32"), FakeEmbedder)
    restore_backends(saved)
    embedder, _ = embedder_for_index(choice, model, tmp_path)
    assert isinstance(embedder, SentenceTransformerEmbedder)  # an unregistered name: the reference stands in


def test_an_unwritable_cache_falls_back_to_sentence_transformers_for_fp32_only(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    model = ModelInfo(tmp_path, "m", "f" * 64, 8, 16, tmp_path / "tokenizer.json")
    notes: list[str] = []
    assert embedder_for_build(model, tmp_path / "afile", "fp32", notes).backend == "sentence-transformers"
    assert len(notes) == 1
    with pytest.raises(ModelError, match="cannot make the int8 encoder") as raised:
        embedder_for_build(model, tmp_path / "afile", "int8", [])
    assert raised.value.fix == "use --encoder fp32"


def test_the_choice_of_a_backend_without_a_file_names_only_the_backend(tmp_path: Path, fake_model: ModelInfo) -> None:
    assert choice_for(FakeEmbedder(), fake_model, tmp_path) == EmbedderChoice("fake", "fp32", "fake")


def test_another_model_at_hand_is_refused_with_the_rebuild_fix(tmp_path: Path, fake_model: ModelInfo,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import indexer.embedder_factory

    monkeypatch.setattr(indexer.embedder_factory, "resolve_model", lambda _dir: fake_model)
    recorded = ModelRecord(id="other@eeeeeeeeeeee", name="other", path="", fingerprint="e" * 64, dim=8)
    with pytest.raises(ModelError, match="built with model other@eeeeeeeeeeee but fake@ffffffffffff") as raised:
        query_embedder(recorded, EmbedderChoice("fake", "fp32", "fake"), None, tmp_path)
    assert raised.value.fix == REBUILD


def test_an_unknown_precision_in_the_index_is_refused(tmp_path: Path, fake_model: ModelInfo) -> None:
    with pytest.raises(ModelError, match="unknown encoder 'fp16'") as raised:
        embedder_for_index(EmbedderChoice("onnx", "fp16", "onnx", "x.onnx", "0" * 64), fake_model, tmp_path)
    assert raised.value.fix == REBUILD


class PrefixedFake(FakeEmbedder):
    """An e5-style model: questions and documents get their own prefix."""

    query_prefix = "query: "
    document_prefix = "passage: "


def test_documents_and_questions_are_embedded_by_their_own_methods(
    notes_settings: Settings, fake_model: ModelInfo
) -> None:
    embedder = PrefixedFake()
    build_index(notes_settings, embedder=embedder, token_counter=WordCounter(), model=fake_model)
    assert embedder.seen and all(text.startswith("passage: ") for text in embedder.seen)
    embedder.seen.clear()
    searcher = open_searcher(notes_settings, embedder=embedder, auto_build=False).searcher
    assert searcher.search("item size", k=3).hits
    assert embedder.seen == ["query: item size"]


def test_minilm_style_embedders_give_one_vector_for_a_text_as_document_or_question() -> None:
    fake = FakeEmbedder()
    text = "Maximum size of an item is 400KB"
    np.testing.assert_array_equal(fake.embed_query(text), fake.embed_documents([text])[0])
    assert fake.embed_query(text).shape == (fake.dim,)


def _model_folder(root: Path, pooling: dict[str, object], modules: list[dict[str, str]] | None = None) -> Path:
    (root / "1_Pooling").mkdir(parents=True)
    (root / "config.json").write_text(json.dumps({"hidden_size": 32, "max_position_embeddings": 128,
                                                  "num_attention_heads": 4}))
    (root / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    if modules is not None:
        (root / "modules.json").write_text(json.dumps(modules))
    return root


def test_model_config_is_read_once_for_dimension_and_pooling(tmp_path: Path) -> None:
    folder = _model_folder(tmp_path / "m", {"word_embedding_dimension": 32, "pooling_mode_cls_token": True,
                                            "pooling_mode_mean_tokens": True})
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 64}))
    config = read_model_config(folder)
    assert config.pooling_modes == ("cls", "mean") and config.dim == 64
    assert config.max_seq_length == 64 and config.num_attention_heads == 4
    assert config.onnx_problem() is None


def test_model_config_names_what_the_onnx_encoder_cannot_run(tmp_path: Path) -> None:
    weighted = _model_folder(tmp_path / "w", {"pooling_mode": "weightedmean"})
    assert "weightedmean" in (read_model_config(weighted).onnx_problem() or "")
    dense = _model_folder(tmp_path / "d", {"pooling_mode_mean_tokens": True}, [
        {"type": "sentence_transformers.models.Transformer", "path": ""},
        {"type": "sentence_transformers.models.Pooling", "path": "1_Pooling"},
        {"type": "sentence_transformers.models.Dense", "path": "2_Dense"},
    ])
    assert "Module Dense" in (read_model_config(dense).onnx_problem() or "")


def test_model_config_refuses_a_bad_max_seq_length(tmp_path: Path) -> None:
    folder = _model_folder(tmp_path / "m", {"pooling_mode_mean_tokens": True})
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": "long"}))
    with pytest.raises(ModelError, match="invalid max_seq_length"):
        read_model_config(folder)


def test_choosing_an_embedder_imports_no_model_library() -> None:
    from .test_import_light import HEAVY, loaded_after

    modules = loaded_after("import indexer.embedder_factory, indexer.model_config, indexer.encoder_cache")
    assert not {m.split(".")[0] for m in modules} & {*HEAVY, "numpy", "tokenizers", "onnx"}
