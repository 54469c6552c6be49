"""The compact results list: one line per hit (rank, heading, file:line, score), for small terminals.

The snippet is then read in the preview pane, where the answering lines are marked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content
from textual.visual import RenderOptions, Visual

from ..render import HEADING_STYLE, LOCATION_STYLE, format_score, literal, location

if TYPE_CHECKING:
    from textual.css.styles import RulesMap
    from textual.strip import Strip
    from textual.style import Style

    from indexer.models import Hit

#: Below this many terminal rows the list is compact unless the user chose otherwise
#: (at 80x24 the full list shows about one result).
COMPACT_BELOW_ROWS = 30
#: The heading keeps at least this many cells before the right part is cut instead.
MIN_HEADING_CELLS = 8


class OneLine(Visual):
    """``left`` then ``right`` on one line: ``right`` flush right, ``left`` cut with an ellipsis to make room."""

    def __init__(self, left: Content, right: Content) -> None:
        self.left = left
        self.right = right

    @property
    def plain(self) -> str:
        return f"{self.left.plain}  {self.right.plain}"

    def get_optimal_width(self, rules: RulesMap, container_width: int) -> int:
        return self.left.cell_length + 2 + self.right.cell_length

    def get_height(self, rules: RulesMap, width: int) -> int:
        return 1

    def render_strips(self, width: int, height: int | None, style: Style, options: RenderOptions) -> list[Strip]:
        room = width - self.right.cell_length - 2
        if room >= min(MIN_HEADING_CELLS, self.left.cell_length):
            line = Content.assemble(self.left.truncate(room, ellipsis=True, pad=True), "  ", self.right)
        else:
            line = Content.assemble(self.left, "  ", self.right).truncate(width, ellipsis=True)
        return line.render_strips(width, 1, style, options)[:1]


def compact_row(hit: Hit, mode: str) -> OneLine:
    """`` 1 Database > DynamoDB ……… database.md:6  0.87``."""
    left = Content.assemble(Content(f"{hit.rank:>2} "),
                            literal(hit.chunk.heading_path or "(no heading)").stylize(HEADING_STYLE))
    right = Content.assemble(literal(location(hit)).stylize(LOCATION_STYLE), "  ",
                             Content(format_score(hit.answer_score).strip()))
    return OneLine(left, right)
