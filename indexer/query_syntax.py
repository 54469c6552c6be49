"""Filter words inside a typed question: ``path:GLOB`` and ``in:TEXT``.

``path:cache.md`` keeps notes whose path matches the glob, ``in:DynamoDB``
sections whose heading path contains the text (see ``SearchFilter``). A value
may be quoted to hold spaces: ``in:"RDS & Aurora"``. Everything else is the
question. A word such as ``http://x`` or ``in:`` with no value stays question text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .models import SearchFilter

#: A filter word: at the start or after white space, the key, a colon, then a
#: double-quoted value (a missing closing quote runs to the end) or a bare one.
_WORD = re.compile(r'(?:(?<=\s)|^)(path|in):(?:"([^"]*)(?:"|$)|([^\s"]+))', re.IGNORECASE)


@dataclass(frozen=True)
class ParsedQuery:
    """A typed question split into its question text and its filter."""

    text: str
    filters: SearchFilter

    def chips(self) -> tuple[str, ...]:
        """The filter as short labels, e.g. ``path:cache*``, ``in:"RDS & Aurora"``."""
        return tuple(f"path:{_quote(p)}" for p in self.filters.paths) + tuple(
            f"in:{_quote(h)}" for h in self.filters.headings
        )


def _quote(value: str) -> str:
    return f'"{value}"' if any(ch.isspace() for ch in value) else value


def parse_query(typed: str) -> ParsedQuery:
    """Split ``typed`` into the question and its ``path:``/``in:`` filter words."""
    paths: list[str] = []
    headings: list[str] = []

    def take(match: re.Match[str]) -> str:
        value = (match.group(2) if match.group(2) is not None else match.group(3)).strip()
        if not value:
            return match.group(0) if match.group(2) is None else " "
        (paths if match.group(1).lower() == "path" else headings).append(value)
        return " "

    text = " ".join(_WORD.sub(take, typed).split())
    return ParsedQuery(text, SearchFilter(paths=tuple(paths), headings=tuple(headings)))

