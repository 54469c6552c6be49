"""The key a vector is stored and reused under: a hash of the text it embeds."""

from __future__ import annotations

import hashlib


def text_key(text: str) -> str:
    """The key a vector is reused by: a hash of the text it embeds."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
