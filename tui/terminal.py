"""The app quits when its terminal goes away (window closed, ssh dropped, tmux killed).

Textual keeps reading a hung-up terminal's endless end-of-file in a busy loop,
and the hang-up signal does not always reach a program started through ``make``
or a script, so the app also checks its terminal once a second.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from textual.app import App


def has_terminal() -> bool:
    """Is standard input still a working terminal? (A hung-up one fails ``tcgetattr``.)"""
    import sys
    import termios

    try:
        termios.tcgetattr(sys.__stdin__.fileno() if sys.__stdin__ else 0)
    except (termios.error, OSError, ValueError):
        return False
    return True


def watch_terminal(app: App[Any], *, started_in_terminal: bool) -> None:
    """Exit ``app`` on SIGHUP, and once a second check that its terminal is still there.

    ``started_in_terminal`` is known before the first paint (by the time the app is
    ready, a closed window has already hung it up); input that never was a terminal
    is not checked.
    """
    import asyncio
    import signal

    with suppress(NotImplementedError, RuntimeError, ValueError):  # no signals here: the check still runs
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, app.exit)
    if started_in_terminal:

        def exit_if_gone() -> None:
            if not has_terminal():
                app.exit()

        app.set_interval(1.0, exit_if_gone)
