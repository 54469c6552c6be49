"""Make note text harmless to print: no escape sequences, no control characters.

Notes may hold ANSI or OSC-8 escape sequences, bidi overrides and other control
characters. Printed raw they would restyle or take over the terminal, so every
such character is shown as a visible placeholder instead: ``ESC`` becomes
``␛``, other C0 controls their Unicode "control picture" (``\\x07`` -> ``␇``),
and C1 controls, bidi and other format characters a ``<U+202E>`` tag.
Rich/Textual markup is escaped separately, where markup is rendered.
"""

from __future__ import annotations

import unicodedata

_KEEP = {"\n", "\t"}


def _visible(ch: str) -> str:
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)  # control pictures block: ␀..␟
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def safe_text(text: str, *, keep_newlines: bool = True) -> str:
    out = []
    for ch in text:
        if ch in _KEEP and (keep_newlines or ch == "\t") or ch.isprintable() or ch == " " or unicodedata.category(ch) in ("Zs",):
            out.append(ch)
        else:
            out.append(_visible(ch))
    return "".join(out)
