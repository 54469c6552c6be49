"""Open a note in the user's editor: ``$EDITOR +LINE FILE``, the app suspended meanwhile."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import SuspendNotSupported

from indexer.errors import NotesQAError

if TYPE_CHECKING:
    from .app import NotesQAApp

FALLBACKS = ("nano", "vi")


class EditorError(NotesQAError):
    """No usable editor."""


def editor_command(path: Path, line: int, env: Mapping[str, str] | None = None) -> list[str]:
    """``$EDITOR +LINE FILE`` (or $VISUAL, else nano or vi), checked to exist."""
    env = os.environ if env is None else env
    setting = env.get("EDITOR") or env.get("VISUAL")
    if setting:
        try:
            argv = shlex.split(setting)
        except ValueError as exc:
            raise EditorError(f"cannot read $EDITOR ({exc}); set it to a command, e.g. export EDITOR=nano") from exc
        if not argv:
            raise EditorError("$EDITOR is blank; set it to a command, e.g. export EDITOR=nano")
        if shutil.which(argv[0], path=env.get("PATH")) is None:
            raise EditorError(f"editor {argv[0]!r} not found; set $EDITOR to an installed editor, e.g. export EDITOR=nano")
    else:
        found = next((name for name in FALLBACKS if shutil.which(name, path=env.get("PATH"))), None)
        if found is None:
            raise EditorError("no editor found; set $EDITOR, e.g. export EDITOR=nano")
        argv = [found]
    return [*argv, f"+{line}", str(path)]


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _run_suspended(app: NotesQAApp, argv: list[str]) -> int:
    try:
        with app.suspend():
            return subprocess.run(argv, check=False).returncode
    except SuspendNotSupported:  # headless (tests), or a driver that cannot hand over the terminal
        return subprocess.run(argv, check=False, stdin=subprocess.DEVNULL, capture_output=True).returncode


def open_in_editor(app: NotesQAApp, path: Path, line: int) -> None:
    """Run the editor on ``path`` at ``line``; every problem becomes a notification."""
    title = "Cannot open the note"
    try:
        argv = editor_command(path, line)
    except NotesQAError as exc:
        app.tell(str(exc), title=title, severity="error", timeout=10)
        return
    before = _mtime(path)
    try:
        code = _run_suspended(app, argv)
    except OSError as exc:
        app.tell(f"cannot run {argv[0]} ({exc.strerror}); check $EDITOR", title=title, severity="error", timeout=10)
        return
    if code != 0:
        app.tell(f"{argv[0]} exited with status {code}", severity="warning")
    if _mtime(path) != before:
        app.tell("The note changed: press r to refresh the index.", timeout=6)
