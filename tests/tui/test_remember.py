"""History, mode and theme kept between runs in the state folder; damaged or unwritable state never crashes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer.settings import Settings
from tui.app import NotesQAApp, create_app
from tui.state import FILE_NAME, HISTORY_LIMIT, StateFile, UiState, parse_state
from tui.widgets.question import QuestionBox

from .conftest import DEBOUNCE, ask, fake_engine, settle

SIZE = (100, 30)


def new_app(settings: Settings, state_dir: Path, **kwargs: object) -> NotesQAApp:
    return create_app(fake_engine(settings), debounce=DEBOUNCE, state=StateFile(state_dir), **kwargs)  # type: ignore[arg-type]


def warnings(app: NotesQAApp) -> list[str]:
    return [n.message for n in app._notifications if n.severity == "warning"]  # noqa: SLF001


async def test_history_mode_and_theme_survive_a_restart(settings: Settings, tmp_path: Path) -> None:
    state = tmp_path / "state"
    app = new_app(settings, state)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "redis")
        await ask(pilot, "dynamodb ttl")
        await pilot.press("m")  # the focus is on the results after a question
        app.theme = "textual-light"
        await settle(pilot)
    saved = json.loads((state / FILE_NAME).read_text())
    assert saved["history"] == ["redis", "dynamodb ttl"] and saved["mode"] == "dense"
    assert saved["theme"] == "textual-light"

    again = new_app(settings, state)
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert again.mode == "dense" and again.theme == "textual-light"
        assert "mode: dense" in str(again.screen.query_one("#status-mode").render())
        box = again.screen.query_one(QuestionBox)
        box.focus()
        await pilot.press("up")
        assert box.value == "dynamodb ttl"
        await pilot.press("up")
        assert box.value == "redis"
        assert not warnings(again)


async def test_a_mode_flag_wins_over_the_remembered_mode(settings: Settings, tmp_path: Path) -> None:
    StateFile(tmp_path / "state").save(UiState(("redis",), "dense", None))
    app = new_app(settings, tmp_path / "state", mode="keyword")
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "memcached")
        assert app.mode == "keyword"


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"\xff\xfe\x00garbage", b"[1, 2]", b'{"format": "notes-qa-tui-state", "version": 99}',
     b'{"format": "notes-qa-tui-state", "version": 1, "history": "redis"}', b" " * 3_000_000],
)
async def test_a_damaged_state_file_is_ignored_with_a_warning(settings: Settings, tmp_path: Path, content: bytes) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / FILE_NAME).write_bytes(content)
    app = new_app(settings, state)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.is_running and app.mode == "hybrid"
        (warning,) = warnings(app)
        assert "damaged" in warning and str(state / FILE_NAME) in warning
        await ask(pilot, "redis")  # the next save replaces it with a good one
    assert parse_state(json.loads((state / FILE_NAME).read_text())).history == ("redis",)


async def test_an_unwritable_state_folder_is_a_warning_not_a_crash(settings: Settings, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")  # a folder cannot be made under a file, even by root
    app = new_app(settings, blocker / "state")
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "redis")
        await ask(pilot, "memcached")
        assert app.is_running
        saving = [w for w in warnings(app) if w.startswith("cannot save the history")]
        assert len(saving) == 1  # said once, not at every question


def test_state_is_bounded_and_written_atomically(tmp_path: Path) -> None:
    state = StateFile(tmp_path)
    questions = tuple(f"question {i}" for i in range(HISTORY_LIMIT + 50))
    assert state.save(UiState(questions, "keyword", "nord")) is None
    assert [p.name for p in tmp_path.iterdir()] == [FILE_NAME]  # no temporary file left
    loaded, note = state.load()
    assert note is None and loaded == UiState(questions[-HISTORY_LIMIT:], "keyword", "nord")


def test_odd_entries_are_dropped_not_fatal(tmp_path: Path) -> None:
    data = {"format": "notes-qa-tui-state", "version": 1, "history": ["ok", 3, None, "  ", "x" * 5000, "fine"],
            "mode": 7, "theme": ["dark"]}
    assert parse_state(data) == UiState(("ok", "fine"), None, None)
