"""Screenshots of the app on the fixed fixture corpus (fake embedder, prebuilt index).

Update them with ``make snapshots`` after a deliberate change, and look at the diff report.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tui.app import NotesQAApp, create_app
from tui.widgets.question import QuestionBox

from .conftest import ask, fake_engine, make_settings, prebuild, settle

SnapCompare = Callable[..., bool]


@pytest.fixture
def ready_app(tmp_path: Path) -> NotesQAApp:
    engine = fake_engine(make_settings(tmp_path))
    prebuild(engine)  # no "built the index" notification on screen
    return create_app(engine, debounce=5)


def steady(pilot: Pilot[Any]) -> None:
    """No blinking cursor: a screenshot must not depend on when it is taken."""
    pilot.app.screen_stack[0].query_one(QuestionBox).cursor_blink = False


def asking(question: str, *then: str, theme: str | None = None) -> Callable[[Pilot[Any]], Any]:
    async def run_before(pilot: Pilot[Any]) -> None:
        steady(pilot)
        if theme:
            pilot.app.theme = theme
        await ask(pilot, question)
        if then:
            await pilot.press(*then)
            await settle(pilot)

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
def test_main_screen_with_results(snap_compare: SnapCompare, ready_app: NotesQAApp, size: tuple[int, int]) -> None:
    assert snap_compare(ready_app, terminal_size=size, run_before=asking("maximum item size"))


def test_second_hit_selected_light_theme(snap_compare: SnapCompare, ready_app: NotesQAApp) -> None:
    run_before = asking("database replicas failover", "j", theme="textual-light")
    assert snap_compare(ready_app, terminal_size=(100, 30), run_before=run_before)


def test_help_screen(snap_compare: SnapCompare, ready_app: NotesQAApp) -> None:
    assert snap_compare(ready_app, terminal_size=(80, 24), run_before=asking("redis", "question_mark"))


def test_first_paint(snap_compare: SnapCompare, ready_app: NotesQAApp) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        steady(pilot)
        await settle(pilot)

    assert snap_compare(ready_app, terminal_size=(80, 24), run_before=run_before)
