"""The preview pane: the selected hit's whole chunk, answering lines marked."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from ..render import literal, location, preview

if TYPE_CHECKING:
    from textual import events
    from textual.app import ComposeResult

    from indexer.models import Hit

HINT = Content("Type a question and press Enter.\nThe selected answer shows here in its note. Press ? for keys.")
TITLE = "Preview"


class PreviewPane(VerticalScroll):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.hit: Hit | None = None
        self._answer_rows = (0, 0)
        self._best_row = 0
        self._content = Content("")
        self.border_title = TITLE

    def compose(self) -> ComposeResult:
        yield Static(HINT, id="preview-body", classes="-hint")

    def show(self, hit: Hit | None) -> None:
        self.hit = hit
        body = self.query_one("#preview-body", Static)
        if hit is None:
            body.update(HINT)
            body.add_class("-hint")
            self.border_title = TITLE
            self.border_subtitle = ""
            self.scroll_home(animate=False)
            return
        shown = preview(hit)
        body.remove_class("-hint")
        body.update(shown.content)
        # Content, not strings: titles are markup otherwise, and these come from the notes.
        self.border_title = Content(f"{TITLE} · ") + literal(hit.chunk.heading_path or hit.chunk.path)
        self.border_subtitle = literal(location(hit))
        self._answer_rows = shown.answer_rows
        self._best_row = shown.best_row
        self._content = shown.content
        self.call_after_refresh(self._scroll_to_answer)

    def _scroll_to_answer(self) -> None:
        """From the top if the answer fits there, else with two rows of context above it;
        the best line is always in view."""
        first, last, best = (self._screen_row(row) for row in (*self._answer_rows, self._best_row))
        height = self.scrollable_content_region.height
        y = 0 if last < height else max(0, first - 2)
        if not y <= best < y + height:
            y = max(0, best - min(2, height - 1))
        self.scroll_to(y=y, animate=False)

    def _screen_row(self, row: int) -> int:
        """Where content row ``row`` is on screen, once the rows above it are wrapped."""
        width = self.query_one("#preview-body", Static).content_region.width
        if width <= 0:
            return row
        above = self._content.split("\n", allow_blank=True)[:row]
        return sum(max(1, len(line.wrap(width))) for line in above)

    def on_resize(self, event: events.Resize) -> None:
        if self.hit is not None:
            self.call_after_refresh(self._scroll_to_answer)
