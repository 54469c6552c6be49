"""The main screen: question box, status line, results and preview, footer."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Footer

from ..messages import HitHighlighted
from ..widgets.chips import FilterChips
from ..widgets.preview import PreviewPane
from ..widgets.question import QuestionBox
from ..widgets.results import ResultsList
from ..widgets.status import StatusBar

if TYPE_CHECKING:
    from textual import events
    from textual.app import ComposeResult


class MainScreen(Screen[None]):
    #: Results beside the preview from this width on, above it below.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "app.focus_next", "Pane"),
        Binding("shift+tab", "app.focus_previous", "Previous pane", show=False),
        Binding("slash", "focus_question", "Ask", key_display="/"),
    ]

    def compose(self) -> ComposeResult:
        yield QuestionBox(id="question")
        yield FilterChips(id="chips")
        yield StatusBar(id="status")
        with Container(id="panes"):
            yield ResultsList(id="results")
            yield PreviewPane(id="preview")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(QuestionBox).focus()

    def on_resize(self, event: events.Resize) -> None:
        self.query_one(ResultsList).fit_rows(event.size.height)

    @on(HitHighlighted)
    def _when_hit_highlighted(self, event: HitHighlighted) -> None:
        self.query_one(PreviewPane).show(event.hit)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # "/" types in the question box; the key only means "back to the box" elsewhere.
        return not (action == "focus_question" and isinstance(self.focused, QuestionBox))

    def action_focus_question(self) -> None:
        self.query_one(QuestionBox).focus()
