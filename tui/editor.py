"""Open a note in the user's editor at the answer line, the app suspended meanwhile.

Which editor: ``$NOTES_QA_EDITOR`` (a template with ``{path}`` and ``{line}``),
else ``$VISUAL``, else ``$EDITOR``, else nano or vi. Editors we know get the
line in their own form; any other one gets the file alone, and a note says how
to write a template for it. Never through a shell: the command is split with
``shlex`` and the path is always one argument.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Protocol

from textual.app import SuspendNotSupported

from indexer.errors import NotesQAError

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

FALLBACKS = ("nano", "vi")
#: Editors that take ``+LINE FILE``.
PLUS_LINE = frozenset({"vi", "vim", "nvim", "gvim", "view", "nano", "pico", "emacs", "emacsclient", "micro",
                       "helix", "hx", "kak", "joe", "mg", "ne"})
#: Editors that take ``-g FILE:LINE`` (VS Code and its forks).
GOTO_FLAG = frozenset({"code", "code-insiders", "codium", "vscodium", "cursor", "windsurf"})
#: Editors that take ``FILE:LINE``.
PATH_COLON_LINE = frozenset({"subl", "sublime_text", "zed", "zeditor", "zedit"})
#: Where the command came from, in the order looked at.
SOURCES = ("NOTES_QA_EDITOR", "VISUAL", "EDITOR")


class EditorError(NotesQAError):
    """No usable editor."""


class EditorHost(Protocol):
    """What opening an editor needs of the app (``NotesQAApp`` is one; this module never imports it)."""

    @property
    def watch_notes(self) -> bool:
        """Does the app refresh the index by itself when a note changes?"""
        ...

    def suspend(self) -> AbstractContextManager[None]:
        """Hand the terminal over meanwhile (Textual's ``App.suspend``)."""
        ...

    def tell(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
             timeout: float | None = None) -> None:
        """Show a notification."""
        ...


def _name(program: str) -> str:
    name = PurePath(program).name.lower()
    return name.removesuffix(".exe")


def editor_command(template_or_editor: str, path: Path, line: int) -> tuple[list[str], str | None]:
    """The argv that opens ``path`` at ``line``, and a note for the user (or None).

    ``template_or_editor`` is either a template (it holds ``{path}`` or
    ``{line}``, replaced in each argument; without ``{path}`` the file is added
    at the end) or an editor command (``vim``, ``code --wait``...), given the
    line in the form it understands. Raises ``EditorError`` if it is blank or
    cannot be split.
    """
    try:
        words = shlex.split(template_or_editor)
    except ValueError as exc:
        raise EditorError(f"cannot read the editor command {template_or_editor!r} ({exc})") from exc
    if not words:
        raise EditorError("the editor command is blank")
    file, number = str(path), str(line)
    if "{path}" in template_or_editor or "{line}" in template_or_editor:
        argv = [word.replace("{path}", file).replace("{line}", number) for word in words]
        if "{path}" not in template_or_editor:
            argv.append(file)
        return argv, None
    name = _name(words[0])
    if name in PLUS_LINE:
        return [*words, f"+{number}", file], None
    if name in GOTO_FLAG:
        return [*words, "-g", f"{file}:{number}"], None
    if name in PATH_COLON_LINE:
        return [*words, f"{file}:{number}"], None
    note = (f"{words[0]} was opened at the top of the note (line {number} is the answer): "
            f"to open at the line, set NOTES_QA_EDITOR, e.g. '{words[0]} {{path}}:{{line}}' or '{words[0]} +{{line}} {{path}}'")
    return [*words, file], note


def chosen_editor(env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The editor setting to use and the variable it came from ("" for a fallback found on PATH)."""
    env = os.environ if env is None else env
    for source in SOURCES:
        value = env.get(source, "")
        if value.strip():
            return value, source
    found = next((name for name in FALLBACKS if shutil.which(name, path=env.get("PATH"))), None)
    if found is None:
        raise EditorError("no editor found", fix="set $EDITOR, e.g. export EDITOR=nano, "
                          "or NOTES_QA_EDITOR, e.g. 'code -g {path}:{line}'")
    return found, ""


def resolve_command(path: Path, line: int, env: Mapping[str, str] | None = None) -> tuple[list[str], str | None]:
    """``editor_command`` over the user's setting, checked to name an installed program."""
    env = os.environ if env is None else env
    setting, source = chosen_editor(env)
    where = f"${source}" if source else "the editor"
    try:
        argv, note = editor_command(setting, path, line)
    except EditorError as exc:
        raise EditorError(exc.message, fix=f"set {where} to a command, e.g. export EDITOR=nano") from exc
    if shutil.which(argv[0], path=env.get("PATH")) is None:
        raise EditorError(f"editor {argv[0]!r} not found", fix=f"set {where} to an installed editor, e.g. export EDITOR=nano")
    return argv, note


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _run_suspended(app: EditorHost, argv: list[str]) -> int:
    try:
        with app.suspend():
            return subprocess.run(argv, check=False).returncode
    except SuspendNotSupported:  # headless (tests), or a driver that cannot hand over the terminal
        return subprocess.run(argv, check=False, stdin=subprocess.DEVNULL, capture_output=True).returncode


def open_in_editor(app: EditorHost, path: Path, line: int) -> None:
    """Run the editor on ``path`` at ``line``; every problem becomes a notification."""
    title = "Cannot open the note"
    try:
        argv, note = resolve_command(path, line)
    except NotesQAError as exc:
        app.tell(exc.with_fix(), title=title, severity="error", timeout=10)
        return
    before = _mtime(path)
    try:
        code = _run_suspended(app, argv)
    except OSError as exc:
        app.tell(f"cannot run {argv[0]} ({exc.strerror}); check $EDITOR", title=title, severity="error", timeout=10)
        return
    if note:
        app.tell(note, title="Editor", timeout=10)
    if code != 0:
        app.tell(f"{argv[0]} exited with status {code}", severity="warning")
    if _mtime(path) != before and not app.watch_notes:  # a watching app refreshes by itself
        app.tell("The note changed: press r to refresh the index.", timeout=6)
