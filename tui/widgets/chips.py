"""The filter words of the question (``path:GLOB``, ``in:TEXT``) shown as chips under the box."""

from __future__ import annotations

from collections.abc import Sequence

from textual.content import Content
from textual.widgets import Static

from ..render import literal

CHIP_STYLE = "bold $text-accent on $accent-muted"


class FilterChips(Static):
    """One chip per filter word; hidden when the question has none."""

    DEFAULT_CSS = """
    FilterChips {
        height: auto;
        padding: 0 1;
        display: none;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Content(""), id=id)
        self.chips: tuple[str, ...] = ()

    def show(self, chips: Sequence[str]) -> None:
        self.chips = tuple(chips)
        label = Content("only ") if chips else Content("")
        parts = [literal(f" {chip} ").stylize(CHIP_STYLE) for chip in self.chips]
        self.update(label + Content(" ").join(parts))
        self.display = bool(self.chips)
