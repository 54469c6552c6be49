"""The ranking modes, in the order the app cycles them (the first is the default).

A module of its own, importing nothing: the app reads it before its first paint.
"""

from __future__ import annotations

MODES = ("hybrid", "dense", "keyword")
