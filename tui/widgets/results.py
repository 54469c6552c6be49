"""The ranked results list."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from ..messages import HitHighlighted
from ..render import hit_prompt

if TYPE_CHECKING:
    from indexer.models import Hit, SearchResult
    from indexer.watch import NoteChanges


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
        self.border_title = "Results"

    def show(self, result: SearchResult) -> None:
        self.hits = result.hits
        top = max((h.score for h in result.hits), default=0.0)
        self.clear_options()
        options: list[Option | None] = []
        for hit in result.hits:
            if options:
                options.append(None)
            options.append(Option(hit_prompt(hit, top, result.mode), id=str(hit.rank)))
        self.add_options(options)
        self.border_subtitle = f"{len(result.hits)} · {result.mode}"
        if result.hits:
            self.highlighted = 0
        else:
            self.post_message(HitHighlighted(None))

    def clear(self) -> None:
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
