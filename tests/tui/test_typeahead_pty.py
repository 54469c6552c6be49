"""In a real terminal: what is typed while the program starts reaches the question box."""

from __future__ import annotations

from pathlib import Path

from .pty_app import PtyApp


def test_keys_typed_while_the_program_starts_reach_the_question_box(tmp_path: Path) -> None:
    app = PtyApp(tmp_path, echo=False)
    try:
        app.write(b"zebra")  # at once: long before Python and Textual are up
        assert app.read_until(b"zebra"), app.seen[-800:]
    finally:
        app.close()
