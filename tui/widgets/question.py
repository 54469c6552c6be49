"""The question box: Enter asks, typing edits, up and down recall earlier questions."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.widgets import Input

from ..history import History
from ..messages import QuestionAsked, QuestionEdited


class QuestionBox(Input):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "Search"),
        Binding("up", "history_previous", "History", key_display="↑"),
        Binding("down", "history_next", "Later question", show=False),
        Binding("escape", "leave", "Results", key_display="esc"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="Ask your notes a question, then Enter", id=id)
        self.history = History()
        self.border_title = "Question"

    @on(Input.Submitted)
    def _when_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.history.add(event.value)
        self.post_message(QuestionAsked(event.value))

    @on(Input.Changed)
    def _when_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(QuestionEdited(event.value))

    def _set_text(self, text: str) -> None:
        self.value = text
        self.cursor_position = len(text)

    def action_history_previous(self) -> None:
        earlier = self.history.previous(self.value)
        if earlier is not None:
            self._set_text(earlier)

    def action_history_next(self) -> None:
        later = self.history.next()
        if later is None:
            self.action_leave()
        else:
            self._set_text(later)

    def action_leave(self) -> None:
        """Move to the results (down past the newest question, or Escape)."""
        self.history.reset()
        self.screen.focus_next()
