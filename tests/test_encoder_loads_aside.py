"""Encoders load in a thread of their own: a build's while it reads the previous build and cuts the notes,
the question encoder while ``ask`` checks the notes and loads the index."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import indexer.build
import indexer.service
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

#: Only a guard against hanging when the code does not do what is tested; never reached when it does.
GUARD_SECONDS = 120


@dataclass
class Meeting:
    """The main thread's work and an encoder's load, each going on only once the other has started:
    getting through proves they ran side by side (run one after the other, the first waits in vain)."""

    work: threading.Event = field(default_factory=threading.Event)
    load: threading.Event = field(default_factory=threading.Event)

    def at_work(self) -> None:
        self.work.set()
        if not self.load.wait(GUARD_SECONDS):
            raise AssertionError("the encoder did not start loading while the work ran")

    def at_load(self) -> None:
        self.load.set()
        if not self.work.wait(GUARD_SECONDS):
            raise AssertionError("the work did not run while the encoder was loading")

    def before(self, real: Callable[..., Any] | None = None, error: Exception | None = None) -> Callable[..., Any]:
        """``real`` (or raising ``error``) once the encoder's load has started."""

        def stand_in(*args: Any, **kwargs: Any) -> Any:
            self.at_work()
            if error is not None:
                raise error
            assert real is not None
            return real(*args, **kwargs)

        return stand_in


class LoadsBesideTheWork(FakeBackend):
    """Encoders (for builds and for questions) ready only once the work they should overlap has started."""

    def __init__(self, meeting: Meeting) -> None:
        super().__init__()
        self.meeting = meeting
        self.loaded_in: list[str] = []

    def for_build(self, model: ModelInfo, cache_dir: Path, precision: str, notes: list[str]) -> Embedder:
        self.loaded_in.append(threading.current_thread().name)
        self.meeting.at_load()
        notes.append("a slower stand-in encodes this build")
        return super().for_build(model, cache_dir, precision, notes)

    def for_index(self, choice: EmbedderChoice, model: ModelInfo, cache_dir: Path, *,
                  spin: bool) -> tuple[Embedder, tuple[str, ...]]:
        self.loaded_in.append(threading.current_thread().name)
        self.meeting.at_load()
        return super().for_index(choice, model, cache_dir, spin=spin)


def test_the_encoder_loads_while_the_notes_are_cut(
    notes_settings: Settings, fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    meeting = Meeting()
    monkeypatch.setattr(indexer.build, "chunk_document", meeting.before(indexer.build.chunk_document))
    backend = LoadsBesideTheWork(meeting)
    register_backend("fake", backend, for_builds=True)
    report = build_index(notes_settings, token_counter=WordCounter(), model=fake_model)
    assert len(backend.loaded_in) == 1 and backend.loaded_in[0].startswith("load-encoder") and backend.built == 1
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


class BrokenForQuestions(FakeBackend):
    def for_index(self, choice: EmbedderChoice, model: ModelInfo, cache_dir: Path, *,
                  spin: bool) -> tuple[Embedder, tuple[str, ...]]:
        raise ModelError("the question encoder is damaged", fix="export it again")


def test_a_question_encoder_that_fails_to_load_in_its_thread_fails_in_the_callers(
    notes_settings: Settings, fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_fake_model(monkeypatch.setattr, fake_model)
    build_index(notes_settings, token_counter=WordCounter(), model=fake_model)
    register_backend("fake", BrokenForQuestions(), for_builds=True)
    with pytest.raises(ModelError, match="the question encoder is damaged"):
        open_searcher(notes_settings, model=fake_model, token_counter=WordCounter())


def test_a_build_that_fails_while_the_encoder_loads_waits_for_the_load_to_end(
    notes_settings: Settings, fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    meeting = Meeting()
    monkeypatch.setattr(indexer.build, "chunk_document", meeting.before(error=RuntimeError("the chunker failed")))
    register_backend("fake", LoadsBesideTheWork(meeting), for_builds=True)
    with pytest.raises(RuntimeError, match="the chunker failed"):
        build_index(notes_settings, token_counter=WordCounter(), model=fake_model)
    assert not [t for t in threading.enumerate() if t.name.startswith("load-encoder")]  # ended before the error


def test_ask_loads_the_question_encoder_while_it_checks_the_notes(
    notes_settings: Settings, fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_fake_model(monkeypatch.setattr, fake_model)  # questions too: the recorded model resolves to the fake one
    build_index(notes_settings, token_counter=WordCounter(), model=fake_model)
    meeting = Meeting()
    monkeypatch.setattr(indexer.service, "index_status", meeting.before(indexer.service.index_status))
    backend = LoadsBesideTheWork(meeting)
    register_backend("fake", backend, for_builds=True)
    opened = open_searcher(notes_settings, model=fake_model, token_counter=WordCounter())
    # once, beside the check: not again after the load
    assert len(backend.loaded_in) == 1 and backend.loaded_in[0].startswith("load-query-encoder")
    assert opened.searcher.search("S3 durability", k=1)


def test_ask_that_fails_while_the_question_encoder_loads_waits_for_the_load_to_end(
    notes_settings: Settings, fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_fake_model(monkeypatch.setattr, fake_model)
    build_index(notes_settings, token_counter=WordCounter(), model=fake_model)
    meeting = Meeting()
    monkeypatch.setattr(indexer.service, "index_status", meeting.before(error=RuntimeError("the check failed")))
    register_backend("fake", LoadsBesideTheWork(meeting), for_builds=True)
    with pytest.raises(RuntimeError, match="the check failed"):
        open_searcher(notes_settings, model=fake_model, token_counter=WordCounter())
    assert not [t for t in threading.enumerate() if t.name.startswith("load-query-encoder")]
