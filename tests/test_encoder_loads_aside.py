"""Encoders load in a thread of their own: a build's while it reads the previous build and cuts the notes,
the question encoder while ``ask`` checks the notes and loads the index."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import indexer.build
import indexer.service
from indexer.background import Background
from indexer.build import build_index
from indexer.embedder import Embedder, EmbedderChoice
from indexer.embedder_factory import register_backend
from indexer.errors import ModelError
from indexer.index_files import current_build, load_index
from indexer.model_files import ModelInfo
from indexer.service import open_searcher
from indexer.settings import Settings

from .fakes import FakeBackend, WordCounter
from .reliability_support import use_fake_model

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


class QuestionEncoderWaits(FakeBackend):
    """A question encoder that is only ready once the notes are being checked."""

    def __init__(self, checking: threading.Event, loading: threading.Event) -> None:
        super().__init__()
        self.checking = checking
        self.loading = loading
        self.loaded_in: list[str] = []

    def for_index(self, choice: EmbedderChoice, model: ModelInfo, cache_dir: Path, *,
                  spin: bool) -> tuple[Embedder, tuple[str, ...]]:
        self.loaded_in.append(threading.current_thread().name)
        self.loading.set()
        if not self.checking.wait(GUARD_SECONDS):
            raise AssertionError("the notes were not checked while the question encoder was loading")
        return super().for_index(choice, model, cache_dir, spin=spin)


def test_ask_loads_the_question_encoder_while_it_checks_the_notes(
    notes_settings: Settings, fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_fake_model(monkeypatch.setattr, fake_model)  # questions too: the recorded model resolves to the fake one
    build_index(notes_settings, token_counter=WordCounter(), model=fake_model)
    checking, loading = threading.Event(), threading.Event()
    real_status = indexer.service.index_status

    def index_status(*args: object, **kwargs: object) -> object:
        checking.set()
        if not loading.wait(GUARD_SECONDS):
            raise AssertionError("the question encoder did not start loading while the notes were checked")
        return real_status(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(indexer.service, "index_status", index_status)
    backend = QuestionEncoderWaits(checking, loading)
    register_backend("fake", backend, for_builds=True)
    opened = open_searcher(notes_settings, model=fake_model, token_counter=WordCounter())
    assert backend.loaded_in == ["load-query-encoder"]  # once, beside the check: not again after the load
    assert opened.searcher.search("S3 durability", k=1)


def test_ask_that_fails_while_the_question_encoder_loads_waits_for_the_load_to_end(
    notes_settings: Settings, fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_fake_model(monkeypatch.setattr, fake_model)  # questions too: the recorded model resolves to the fake one
    build_index(notes_settings, token_counter=WordCounter(), model=fake_model)
    checking, loading = threading.Event(), threading.Event()

    def index_status(*args: object, **kwargs: object) -> object:
        checking.set()
        if not loading.wait(GUARD_SECONDS):
            raise AssertionError("the question encoder did not start loading while the notes were checked")
        raise RuntimeError("the check failed")

    monkeypatch.setattr(indexer.service, "index_status", index_status)
    register_backend("fake", QuestionEncoderWaits(checking, loading), for_builds=True)
    with pytest.raises(RuntimeError, match="the check failed"):
        open_searcher(notes_settings, model=fake_model, token_counter=WordCounter())
    assert not [t for t in threading.enumerate() if t.name == "load-query-encoder"]
