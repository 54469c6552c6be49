"""How ``notes-qa tui`` was asked to start (flags), handed to ``run_app``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class AppOptions:
    """question: asked as soon as the index is ready ("" for none).
    mode: the ranking mode to start in (None: the one used last, else hybrid).
    k: results per question.
    state_dir: where history, mode and theme are kept (None: nothing is kept).
    """

    question: str = ""
    mode: str | None = None
    k: int = 10
    state_dir: Path | None = None
