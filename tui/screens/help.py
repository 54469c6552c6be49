"""The ``?`` screen: every key."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

if TYPE_CHECKING:
    from textual.app import ComposeResult

KEYS: tuple[tuple[str, str], ...] = (
    ("Enter", "search (results also follow your typing)"),
    ("path:GLOB in:TEXT", "words in the question narrow the search to notes / sections"),
    ("↑ ↓ (box)", "earlier / later questions"),
    ("Esc", "from the box to the results"),
    ("↑ ↓  j k", "move in the results or scroll the preview"),
    ("Tab / Shift+Tab", "next / previous pane"),
    ("/", "back to the question box"),
    ("o", "open the note in your editor at the answer line"),
    ("y", "copy path:line and the snippet"),
    ("c", "one line per result (automatic below 30 rows)"),
    ("m", "mode: hybrid → dense → keyword"),
    ("r", "rebuild the index in the background"),
    ("Ctrl+P", "commands (themes: light / dark)"),
    ("?  F1", "this help"),
    ("q", "quit (outside the question box)"),
    ("Ctrl+C", "quit, anywhere"),
)


def keys_table() -> Content:
    width = max(len(key) for key, _ in KEYS)
    rows = [Content.assemble((key.ljust(width), "bold $text-accent"), "  ", what) for key, what in KEYS]
    return Content("\n").join(rows)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "dismiss", "Close", key_display="esc"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(keys_table(), id="help-keys")
            yield Static(Content("Esc, q or ? closes this screen."), id="help-close")

    def on_mount(self) -> None:
        self.query_one("#help").border_title = "notes-qa keys"
