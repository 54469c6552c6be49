"""A build loads its encoder in a thread of its own while it reads the previous build and cuts the notes."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import indexer.build
from indexer.background import Background
from indexer.build import build_index
from indexer.embedder import Embedder
from indexer.embedder_factory import register_backend
from indexer.errors import ModelError
from indexer.index_files import current_build, load_index
from indexer.model_files import ModelInfo
from indexer.settings import Settings

from .fakes import FakeBackend, WordCounter

#: Only a guard against hanging when the build does not do what is tested; never reached when it does.
GUARD_SECONDS = 120


class WaitsForTheChunker(FakeBackend):
    """An encoder that is only ready once the build has started cutting notes, and says it stood in."""

    def __init__(self, cutting: threading.Event, loading: threading.Event) -> None:
        super().__init__()
        self.cutting = cutting
        self.loading = loading
        self.loaded_in: list[str] = []

    def for_build(self, model: ModelInfo, cache_dir: Path, precision: str, notes: list[str]) -> Embedder:
        self.loaded_in.append(threading.current_thread().name)
        self.loading.set()
        if not self.cutting.wait(GUARD_SECONDS):
            raise AssertionError("the build did not cut any note while its encoder was loading")
        notes.append("a slower stand-in encodes this build")
        return super().for_build(model, cache_dir, precision, notes)


def test_the_encoder_loads_while_the_notes_are_cut(
    notes_settings: Settings, fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    cutting, loading = threading.Event(), threading.Event()
    real_chunk = indexer.build.chunk_document

    def chunk_document(*args: object, **kwargs: object) -> object:
        cutting.set()
        if not loading.wait(GUARD_SECONDS):
            raise AssertionError("the encoder did not start loading while the notes were cut")
        return real_chunk(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(indexer.build, "chunk_document", chunk_document)
    backend = WaitsForTheChunker(cutting, loading)
    register_backend("fake", backend, for_builds=True)
    report = build_index(notes_settings, token_counter=WordCounter(), model=fake_model)
    # Each side waits for the other to have started: only a load beside the cutting gets through.
    assert backend.loaded_in == ["load-encoder"] and backend.built == 1
    assert "a slower stand-in encodes this build" in report.warnings  # what the encoder said reaches the report
    assert report.embedded > 0 and len(load_index(notes_settings.index_dir).chunks) == report.chunks


class Broken(FakeBackend):
    def for_build(self, model: ModelInfo, cache_dir: Path, precision: str, notes: list[str]) -> Embedder:
        raise ModelError("the encoder file is damaged", fix="export it again")


def test_an_encoder_that_fails_to_load_fails_the_build_and_keeps_the_index(
    notes_settings: Settings, fake_model: ModelInfo
) -> None:
    register_backend("fake", FakeBackend(), for_builds=True)
    build_index(notes_settings, token_counter=WordCounter(), model=fake_model)
    live = current_build(notes_settings.index_dir)
    (notes_settings.corpus_dir / "new.md").write_text("# New\n\nA new note about caches.\n")
    register_backend("fake", Broken(), for_builds=True)
    with pytest.raises(ModelError, match="the encoder file is damaged"):
        build_index(notes_settings, token_counter=WordCounter(), model=fake_model)
    assert current_build(notes_settings.index_dir) == live  # the previous build still answers
    assert load_index(notes_settings.index_dir).chunks


def test_background_hands_back_the_value_or_the_error_in_the_callers_thread() -> None:
    assert Background(lambda: 41 + 1, "sum").result() == 42

    def fail() -> int:
        raise ValueError("no")

    failing = Background(fail, "fail")
    with pytest.raises(ValueError, match="no"):
        failing.result()


def test_a_build_that_fails_while_the_encoder_loads_waits_for_the_load_to_end(
    notes_settings: Settings, fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    cutting, loading = threading.Event(), threading.Event()

    def chunk_document(*args: object, **kwargs: object) -> object:
        cutting.set()
        if not loading.wait(GUARD_SECONDS):
            raise AssertionError("the encoder did not start loading while the notes were cut")
        raise RuntimeError("the chunker failed")

    monkeypatch.setattr(indexer.build, "chunk_document", chunk_document)
    register_backend("fake", WaitsForTheChunker(cutting, loading), for_builds=True)
    with pytest.raises(RuntimeError, match="the chunker failed"):
        build_index(notes_settings, token_counter=WordCounter(), model=fake_model)
    assert not [t for t in threading.enumerate() if t.name == "load-encoder"]  # ended before the error came out
