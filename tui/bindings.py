"""The app's keys (the screens and widgets bind their own)."""

from __future__ import annotations

from textual.binding import Binding, BindingType

BINDINGS: list[BindingType] = [
    Binding("ctrl+c", "quit", "Quit", priority=True, show=False),
    Binding("q", "quit_app", "Quit", key_display="q/^c"),
    Binding("question_mark", "help", "Help", key_display="?"),
    Binding("f1", "help_anywhere", "Help", show=False),  # F1 works in the question box too
    Binding("o", "open_editor", "Open"),
    Binding("y", "copy_snippet", "Copy"),
    Binding("m", "cycle_mode", "Mode"),
    Binding("r", "rebuild", "Rebuild"),
    Binding("c", "toggle_compact", "Compact", show=False),
]
#: Actions keyed by letters: hidden while the question box has focus (the letters type there).
LETTER_ACTIONS = frozenset({"quit_app", "help", "cycle_mode", "rebuild", "open_editor", "copy_snippet",
                            "toggle_compact"})
#: Actions about the selected hit: greyed out while there is none.
HIT_ACTIONS = frozenset({"open_editor", "copy_snippet"})
