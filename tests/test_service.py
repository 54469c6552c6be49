"""``service.open_or_repair``: the one policy for a damaged index (CLI, TUI and MCP open through it)."""

from __future__ import annotations

from typing import Any

import pytest

from indexer import service
from indexer.build import build_index
from indexer.errors import IndexFileError, IndexLockedError, IndexWriteError, ModelError
from indexer.index_files import current_build
from indexer.model_files import ModelInfo
from indexer.settings import Settings

from .fakes import FakeEmbedder, WordCounter


def fakes(model: ModelInfo) -> dict[str, Any]:
    return {"embedder": FakeEmbedder(), "token_counter": WordCounter(), "model": model}


def test_a_damaged_index_is_rebuilt_saying_why_first(notes_settings: Settings, fake_model: ModelInfo) -> None:
    build_index(notes_settings, **fakes(fake_model))
    folder = current_build(notes_settings.index_dir)
    assert folder is not None
    with (folder / "lines.json").open("a") as handle:
        handle.write(" ")
    heard: list[tuple[str, str | None]] = []

    def on_repair(why: str) -> None:  # called before the rebuild: the live build is still the damaged one
        current = current_build(notes_settings.index_dir)
        heard.append((why, None if current is None else current.name))

    opened = service.open_or_repair(notes_settings, on_repair=on_repair, **fakes(fake_model))
    assert heard == [(opened.repaired, folder.name)]
    assert opened.repaired is not None and "lines.json is" in opened.repaired and "the manifest says" in opened.repaired
    assert "rebuild with" not in opened.repaired  # the reason, without the advice the rebuild made moot
    assert opened.built is not None and opened.built.full and opened.built.reused == 0
    assert opened.searcher.index.folder == opened.built.index_dir != folder


def test_without_repair_a_damaged_index_is_an_error(notes_settings: Settings, fake_model: ModelInfo) -> None:
    build_index(notes_settings, **fakes(fake_model))
    folder = current_build(notes_settings.index_dir)
    assert folder is not None
    (folder / "chunks.jsonl").write_text("{}\n")
    with pytest.raises(IndexFileError, match=r"chunks.jsonl is \d+ bytes, the manifest says") as caught:
        service.open_or_repair(notes_settings, auto_build=False, repair=False, **fakes(fake_model))
    assert caught.value.fix == "rebuild with: notes-qa index --full"
    assert current_build(notes_settings.index_dir) == folder


@pytest.mark.parametrize(
    "error",
    [IndexLockedError("another notes-qa index run is building"), IndexWriteError("cannot write the index"),
     ModelError("the index was built with another model")],
    ids=["locked", "unwritable", "model"],
)
def test_what_a_rebuild_cannot_cure_is_raised_without_building(
    notes_settings: Settings, fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    def refuse(*args: object, **kwargs: object) -> service.OpenedSearcher:
        raise error

    builds: list[object] = []
    monkeypatch.setattr(service, "open_searcher", refuse)
    monkeypatch.setattr(service, "build_index", lambda *a, **k: builds.append(a))
    heard: list[str] = []
    with pytest.raises(type(error)):
        service.open_or_repair(notes_settings, on_repair=heard.append, **fakes(fake_model))
    assert builds == [] and heard == []


def test_question_encoder_threads_spin_only_for_an_index_small_enough_to_search_whole(
    notes_settings: Settings, fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_index(notes_settings, **fakes(fake_model))
    asked: list[bool] = []

    def encoder(*args: Any, spin: bool, **kwargs: Any) -> tuple[FakeEmbedder, tuple[str, ...]]:
        asked.append(spin)
        return FakeEmbedder(), ()

    monkeypatch.setattr(service, "query_embedder", encoder)
    service.open_searcher(notes_settings, auto_build=False)
    service.open_searcher(notes_settings, auto_build=False, spin=False)
    monkeypatch.setattr(service, "SPIN_MAX_CHUNKS", 1)  # as if the index were large: its searches take long
    service.open_searcher(notes_settings, auto_build=False)
    assert asked == [True, False, False]
