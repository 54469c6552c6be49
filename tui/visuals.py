"""A Textual Visual for a result row: a first line, then lines with a hanging indent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content
from textual.geometry import Spacing
from textual.visual import Padding, RenderOptions, Visual

if TYPE_CHECKING:
    from textual.css.styles import RulesMap
    from textual.strip import Strip
    from textual.style import Style


class Hanging(Visual):
    """``head`` at full width, then ``body`` indented by ``indent`` cells (wrapped lines too)."""

    def __init__(self, head: Content, body: Content, indent: int = 3) -> None:
        self.head = head
        self.body = body
        self.indent = indent
        self._padded = Padding(body, Spacing(0, 0, 0, indent))

    @property
    def plain(self) -> str:
        pad = " " * self.indent
        return "\n".join([self.head.plain, *(pad + line for line in self.body.plain.split("\n"))])

    def get_optimal_width(self, rules: RulesMap, container_width: int) -> int:
        return max(self.head.get_optimal_width(rules, container_width),
                   self._padded.get_optimal_width(rules, container_width))

    def get_height(self, rules: RulesMap, width: int) -> int:
        return self.head.get_height(rules, width) + self._padded.get_height(rules, width)

    def render_strips(self, width: int, height: int | None, style: Style, options: RenderOptions) -> list[Strip]:
        strips = self.head.render_strips(width, None, style, options)
        strips += self._padded.render_strips(width, None, style, options)
        return strips if height is None else strips[:height]
