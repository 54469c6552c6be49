"""The ranked results list."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from ..messages import HitHighlighted
from ..render import hit_prompt
from .compact import COMPACT_BELOW_ROWS, compact_row

if TYPE_CHECKING:
    from indexer.models import Hit, SearchResult
    from indexer.note_changes import NoteChanges


class ResultsList(OptionList):
    """One option per hit; moving the highlight posts ``HitHighlighted``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "cursor_down", "Move", key_display="↑↓ jk"),
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("enter", "app.focus_next", "Preview", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.hits: tuple[Hit, ...] = ()
        self.result: SearchResult | None = None
        self.border_title = "Results"
        #: One line per hit; ``compact_choice`` is the user's (None: by terminal height).
        self.compact = False
        self.compact_choice: bool | None = None

    def show(self, result: SearchResult) -> None:
        self.result = result
        self.hits = result.hits
        self.clear_options()
        options: list[Option | None] = []
        for hit in result.hits:
            if options and not self.compact:
                options.append(None)
            prompt = compact_row(hit, result.mode) if self.compact else hit_prompt(hit)
            options.append(Option(prompt, id=str(hit.rank)))
        self.add_options(options)
        self.border_subtitle = f"{len(result.hits)} · {result.mode}"
        if result.hits:
            self.highlighted = 0
        else:
            self.post_message(HitHighlighted(None))

    def fit_rows(self, rows: int) -> None:
        """Compact below ``COMPACT_BELOW_ROWS`` terminal rows, unless the user chose."""
        self._set_compact(rows < COMPACT_BELOW_ROWS if self.compact_choice is None else self.compact_choice)

    def toggle_compact(self) -> None:
        self.compact_choice = not self.compact
        self._set_compact(self.compact_choice)

    def _set_compact(self, compact: bool) -> None:
        if compact == self.compact:
            return
        self.compact = compact
        self.set_class(compact, "-compact")
        if self.result is not None:
            selected = self.highlighted
            self.show(self.result)
            if selected is not None and selected < len(self.hits):
                self.highlighted = selected

    def clear(self) -> None:
        self.result = None
        self.hits = ()
        self.clear_options()
        self.border_subtitle = ""
        self.post_message(HitHighlighted(None))

    def mark_stale(self, changes: NoteChanges) -> None:
        """Mark the hits from notes in ``changes`` as stale until the question is asked again."""
        from ..visuals import Hanging
        from ..watcher import stale_prompt

        for hit in self.hits:
            prompt = self.get_option(str(hit.rank)).prompt
            if changes.touches(hit.chunk.path) and isinstance(prompt, Hanging):
                self.replace_option_prompt(str(hit.rank), stale_prompt(prompt, hit.chunk.path, changes))

    @property
    def selected_hit(self) -> Hit | None:
        index = self.highlighted
        return self.hits[index] if index is not None and 0 <= index < len(self.hits) else None

    @on(OptionList.OptionHighlighted)
    def _when_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self.post_message(HitHighlighted(self.selected_hit))
