"""The app watches its notes: fresh answers without a key press, stale hits marked, lines checked before opening."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from indexer.search import Searcher
from indexer.service import OpenedSearcher
from indexer.settings import Settings
from tui.app import NotesQAApp, create_app
from tui.engine import IndexEngine
from tui.widgets.chips import FilterChips
from tui.widgets.question import QuestionBox
from tui.widgets.results import ResultsList

from .conftest import DEBOUNCE, ask, fake_engine, fake_model, settle
from .test_app import fake_editor, messages, screen_text  # noqa: F401 - fake_editor is a fixture

SIZE = (110, 36)
DEADLINE = 60  # seconds; every wait ends as soon as its condition holds


async def until(pilot: Pilot[int], condition: Callable[[], bool], what: str) -> None:
    """Wait, without pressing anything, until ``condition`` holds."""
    for _ in range(int(DEADLINE / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for: {what}\n{screen_text(pilot.app)}")  # type: ignore[arg-type]


def hits(app: NotesQAApp) -> ResultsList:
    return app.screen_stack[0].query_one(ResultsList)


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


@pytest.fixture
def watching(engine: IndexEngine) -> NotesQAApp:
    return create_app(engine, debounce=DEBOUNCE, watch=True)


async def test_an_appended_fact_is_answered_without_a_key_press(watching: NotesQAApp, settings: Settings) -> None:
    app = watching
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "valkey open source fork")
        assert "Valkey" not in hits(app).hits[0].snippet.text
        append(settings.corpus_dir / "cache.md", "- Valkey is the open source fork of Redis\n")
        await until(pilot, lambda: bool(hits(app).hits) and "Valkey" in hits(app).hits[0].snippet.text,
                    "the new fact at rank 1")
        assert "Valkey is the open source fork" in screen_text(app)
        top = hits(app).hits[0]
        lines = (settings.corpus_dir / "cache.md").read_text(encoding="utf-8").split("\n")
        numbered = dict(zip(top.snippet.line_numbers, top.snippet.text.split("\n")))
        fact = lines.index("- Valkey is the open source fork of Redis") + 1
        assert numbered[fact] == lines[fact - 1]  # line numbers as the note is now


async def test_hits_of_a_deleted_note_go_away(watching: NotesQAApp, settings: Settings) -> None:
    app = watching
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "S3 durable pre-signed URL object")
        assert hits(app).hits[0].chunk.path == "storage.md"
        (settings.corpus_dir / "storage.md").unlink()
        await until(pilot, lambda: bool(hits(app).hits) and all(h.chunk.path != "storage.md" for h in hits(app).hits),
                    "no hit from the deleted note")
        # No result row or preview shows it (the preview follows the new selection a moment later).
        await until(pilot, lambda: "storage.md:" not in screen_text(app), "no row or preview naming the deleted note")


class HeldEngine(IndexEngine):
    """Refreshes only once the test lets it, so the stale state can be looked at."""

    def __init__(self, settings: Settings) -> None:
        base = fake_engine(settings)
        super().__init__(settings, embedder=base.embedder, token_counter=base.token_counter, model=base.model)
        self.release = threading.Event()

    def refresh(self, current: Searcher | None) -> OpenedSearcher:
        assert self.release.wait(DEADLINE), "the test never released the refresh"
        return super().refresh(current)


async def test_hits_from_a_changed_note_are_marked_stale_then_asked_again(settings: Settings) -> None:
    engine = HeldEngine(settings)
    app = create_app(engine, debounce=DEBOUNCE, watch=True)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "redis memcached database replicas")
        paths = [h.chunk.path for h in hits(app).hits]
        assert "cache.md" in paths and "database.md" in paths
        append(settings.corpus_dir / "cache.md", "- Valkey is the open source fork of Redis\n")
        await until(pilot, lambda: "note changed, refreshing" in screen_text(app), "the stale mark")
        text = screen_text(app)
        marked = [line for line in text.splitlines() if "note changed" in line]
        assert len(marked) == paths.count("cache.md")  # only the changed note's hits
        assert "refreshing the index" in text
        old = app.searcher
        engine.release.set()
        await until(pilot, lambda: app.searcher is not old and "note changed" not in screen_text(app),
                    "the question asked again")
        assert any(h.chunk.path == "cache.md" for h in hits(app).hits)


# -- opening the editor at a line that is right now (no watching: the index stays as it was) --


async def test_lines_inserted_above_the_answer_open_the_answer_line(
    app: NotesQAApp, settings: Settings, fake_editor: tuple[str, Path], monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    script, log = fake_editor
    monkeypatch.setenv("EDITOR", script)
    note = settings.corpus_dir / "database.md"
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "maximum item size")
        hit = hits(app).hits[0]
        assert hit.snippet.start_line == 6
        note.write_text("# Inserted\n\n- one\n- two\n" + note.read_text(encoding="utf-8"), encoding="utf-8")
        await pilot.press("o")
        await pilot.pause()
        line = note.read_text(encoding="utf-8").split("\n").index("- Maximum size of an item is 400KB") + 1
        assert line == 10
        assert log.read_text().split("\n")[:2] == [f"+{line}", str(note.resolve())]
        assert any("moved from line 6 to 10" in m for m in messages(app))


async def test_a_deleted_note_is_never_opened(
    app: NotesQAApp, settings: Settings, fake_editor: tuple[str, Path], monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    script, log = fake_editor
    monkeypatch.setenv("EDITOR", script)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "maximum item size")
        (settings.corpus_dir / "database.md").unlink()
        await pilot.press("o")
        await pilot.pause()
        assert not log.exists()
        assert any("database.md is gone" in m for m in messages(app))


async def test_a_line_that_no_longer_holds_the_answer_is_not_opened(
    app: NotesQAApp, settings: Settings, fake_editor: tuple[str, Path], monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    script, log = fake_editor
    monkeypatch.setenv("EDITOR", script)
    note = settings.corpus_dir / "database.md"
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "maximum item size")
        note.write_text(note.read_text(encoding="utf-8").replace("400KB", "400 KB"), encoding="utf-8")
        await pilot.press("o")
        await pilot.pause()
        assert not log.exists()
        assert any("no longer holds this answer" in m for m in messages(app))
        await settle(pilot)  # the index was refreshed: asked again, the answer is at its line
        assert app.searcher is not None
        assert any("400 KB" in c.text for c in app.searcher.index.chunks)


# -- filter words in the question --


async def test_filter_words_show_as_chips_and_filter_the_hits(app: NotesQAApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, 'path:cache.md in:"elasticache" maximum item size')
        chips = app.screen_stack[0].query_one(FilterChips)
        assert chips.display and chips.chips == ("path:cache.md", "in:elasticache")
        assert "path:cache.md" in screen_text(app)
        results = hits(app).hits
        assert results and {h.chunk.path for h in results} == {"cache.md"}
        await ask(pilot, "in:rds")  # filters alone: nothing to search for yet
        assert hits(app).hits == ()
        assert "Type a question to search inside in:rds" in screen_text(app)
        box = app.screen_stack[0].query_one(QuestionBox)
        box.value = "plain question"
        await pilot.pause()
        assert not chips.display


def test_the_app_does_not_watch_unless_asked(tmp_path: Path) -> None:
    from .conftest import make_settings

    settings = make_settings(tmp_path)
    assert create_app(fake_engine(settings)).watch_notes is False
    assert fake_model(tmp_path).dim == 64
