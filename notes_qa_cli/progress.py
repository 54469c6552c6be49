"""A progress bar on stderr (only when stderr is a terminal)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.enabled = self.stream.isatty()
        self._last = 0.0
        self._stage = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if stage == self._stage and done < total and now - self._last < 0.05:
            return
        self._stage, self._last = stage, now
        filled = int(self.width * done / total) if total else self.width
        bar = "█" * filled + "░" * (self.width - filled)
        self.stream.write(f"\r{stage:<10} {bar} {done}/{total}\x1b[K")
        if done >= total and stage == "writing":
            self.stream.write("\r\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
