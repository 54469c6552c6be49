"""Earlier questions, recalled with up and down in the question box."""

from __future__ import annotations


class History:
    """Questions in the order asked (no repeats in a row), with a cursor for recall."""

    def __init__(self, limit: int = 100) -> None:
        self.items: list[str] = []
        self.limit = limit
        self._cursor: int | None = None
        self._draft = ""

    def add(self, question: str) -> None:
        question = question.strip()
        if question and (not self.items or self.items[-1] != question):
            self.items.append(question)
            del self.items[: -self.limit]
        self._cursor = None

    def previous(self, current: str) -> str | None:
        """The question before the one shown (``current`` is kept as a draft)."""
        if not self.items:
            return None
        if self._cursor is None:
            self._draft = current
            self._cursor = len(self.items)
        if self._cursor == 0:
            return None
        self._cursor -= 1
        return self.items[self._cursor]

    def next(self) -> str | None:
        """The question after the one shown, then the draft; None past the end."""
        if self._cursor is None:
            return None
        self._cursor += 1
        if self._cursor >= len(self.items):
            self._cursor = None
            return self._draft
        return self.items[self._cursor]

    def reset(self) -> None:
        self._cursor = None
