"""The app quits when its terminal goes away, instead of spinning on a dead terminal."""

from __future__ import annotations

from pathlib import Path

from .pty_app import PtyApp


def test_the_app_exits_when_its_terminal_hangs_up(tmp_path: Path) -> None:
    # No controlling terminal (a new session): no SIGHUP will come, as under `make run` in a
    # killed tmux; only the terminal itself failing can tell the app.
    app = PtyApp(tmp_path)
    try:
        assert app.read_until(b"Question"), app.seen[-500:]
        app.hang_up()  # the window closes
        app.child.wait(timeout=120)  # raises if the app keeps running
    finally:
        app.close()
