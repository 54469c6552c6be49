"""The status line: what the app is doing, build progress, the ranking mode."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Label, ProgressBar

from indexer.safe_text import safe_text

if TYPE_CHECKING:
    from textual.app import ComposeResult


class StatusBar(Horizontal):
    def compose(self) -> ComposeResult:
        yield Label(Content("Starting…"), id="status-text")
        yield ProgressBar(show_eta=False, id="status-progress")
        yield Label(Content(""), id="status-mode")

    def on_mount(self) -> None:
        self.query_one(ProgressBar).display = False

    def say(self, text: str, *, busy: bool = False, error: bool = False, warning: bool = False) -> None:
        label = self.query_one("#status-text", Label)
        label.update(Content(safe_text(text, keep_newlines=False)))
        label.set_class(busy, "-busy")
        label.set_class(error, "-error")
        label.set_class(warning, "-warning")

    def progress(self, done: int, total: int | None) -> None:
        """Show the bar at ``done`` of ``total`` steps (None: busy, count unknown)."""
        bar = self.query_one(ProgressBar)
        bar.display = True
        bar.update(total=None if total is None else max(total, 1), progress=done)

    def hide_progress(self) -> None:
        self.query_one(ProgressBar).display = False

    def mode(self, mode: str) -> None:
        self.query_one("#status-mode", Label).update(Content(f"mode: {mode}"))
