"""What ``y`` copies: ``path:line`` and the snippet, with control characters removed.

The clipboard is pasted into terminals and documents, so note text must not
carry escape sequences (a pasted ``ESC [2J`` clears a screen) or bidi overrides
(which reorder what a reader sees) there.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from indexer.models import Hit

_KEEP = frozenset("\n\t")
#: Bidi embeddings, overrides and isolates (format characters that reorder text).
_BIDI = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))


def without_controls(text: str) -> str:
    """``text`` without C0/C1 control characters (newline and tab kept) and bidi controls."""
    return "".join(ch for ch in text
                   if ch in _KEEP or (ch not in _BIDI and unicodedata.category(ch) != "Cc"))


def copied_text(hit: Hit) -> str:
    """``path:line`` (the answer line), a newline, then the snippet."""
    from indexer.snippets import answer_location

    return without_controls(f"{hit.chunk.path}:{answer_location(hit)}\n{hit.snippet.text}")
