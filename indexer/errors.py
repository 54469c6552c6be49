"""The one error type the engine raises for problems a user can fix."""

from __future__ import annotations

# Exit codes, documented in the README.
EXIT_USAGE = 2  # bad command line or query
EXIT_CORPUS = 3  # corpus missing, empty or unreadable
EXIT_INDEX = 4  # index missing, corrupt, foreign or locked
EXIT_MODEL = 5  # model missing or not a model
EXIT_EVAL = 6  # evaluation input is malformed
EXIT_INTERRUPTED = 130


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message (libraries raise multi-line C++ text), or its type."""
    for line in str(exc).splitlines():
        line = line.strip()
        if line:
            return line.rstrip(".")
    return type(exc).__name__


def os_reason(exc: BaseException) -> str:
    """What the operating system said about a failed file operation ("No space left on device").

    Libraries that lose the message but keep ``errno`` get ``os.strerror(errno)``.
    """
    import os

    if isinstance(exc, OSError):
        if exc.strerror:
            return exc.strerror
        if exc.errno:
            return os.strerror(exc.errno)
    return first_line(exc)


#: The usual fix for a damaged, foreign or outdated index.
REBUILD = "rebuild with: notes-qa index --full"


class NotesQAError(Exception):
    """A problem with the user's input or files: one sentence saying what is wrong, and the fix.

    ``message`` says what is wrong (no advice glued on); ``fix`` says what to do about
    it ("rebuild with: notes-qa index --full"), or is ``None``. The edges print the fix
    on a line of its own (CLI), beside the message (TUI, MCP: ``with_fix``).
    """

    exit_code: int = 1

    def __init__(self, message: str, *, fix: str | None = None, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message

    def with_fix(self) -> str:
        """Message and fix on one line, for places that show one line (a tool error, a status bar)."""
        return f"{self.message}; {self.fix}" if self.fix else self.message

    def lines(self, prog: str = "notes-qa") -> list[str]:
        """What the command line prints on stderr: the error, then the fix on its own line."""
        out = [f"{prog}: error: {self.message}"]
        if self.fix:
            out.append(f"{prog}: {self.fix}")
        return out


class UsageError(NotesQAError):
    exit_code = EXIT_USAGE


class CorpusError(NotesQAError):
    exit_code = EXIT_CORPUS


class IndexFileError(NotesQAError):
    """The index is missing, damaged, foreign or busy."""

    exit_code = EXIT_INDEX


class IndexLockedError(IndexFileError):
    """Another ``notes-qa index`` run holds the build lock of the index folder."""


class IndexWriteError(IndexFileError):
    """The index folder cannot be created or written (permissions, free space).

    ``reason`` is the bare cause ("No space left on device"), for warnings that
    carry on without the index being written.
    """

    def __init__(self, message: str, *, fix: str | None = None, reason: str = "") -> None:
        super().__init__(message, fix=fix)
        self.reason = reason or message


class ModelError(NotesQAError):
    exit_code = EXIT_MODEL


class EvalError(NotesQAError):
    exit_code = EXIT_EVAL
