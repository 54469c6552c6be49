"""Standard streams of a ``notes-qa`` process: closed ones, a full disk, a closed pipe.

``notes-qa ask ... > /dev/full`` or a stdout closed at start (``>&-``) ends with
one line on stderr, ``notes-qa: error: cannot write the output (...)``, and
exit 1. A closed stderr (``2>&-``) changes nothing but the lost messages: the
exit code still tells (0 ok, otherwise the code of the error). A reader that
goes away (``notes-qa ask ... | head -1``) ends the run quietly with exit 0.

A closed descriptor 0, 1 or 2 is filled with ``/dev/null`` first, so that no
file the run opens (an index file) takes its number and receives text meant
for a terminal.
"""

from __future__ import annotations

import io
import os
import sys

from indexer.errors import NotesQAError


class OutputError(NotesQAError):
    """Standard output cannot take the answer (disk full, closed, I/O error)."""


def prepare() -> None:
    """Fill closed standard descriptors; route stdout writes through :class:`_GuardedStdout`.

    Raises :class:`OutputError` when stdout was closed at start.
    """
    closed = [fd for fd in (0, 1, 2) if not _is_open(fd)]
    for fd in closed:
        _to_devnull(fd)
    if 2 in closed or sys.stderr is None:
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
    if 1 in closed or sys.stdout is None:
        raise OutputError("cannot write the output (stdout is closed); redirect it to a file or /dev/null")
    real = sys.stdout
    if isinstance(real, io.TextIOWrapper) and real is sys.__stdout__ and _fileno(real) == 1:
        sys.stdout = io.TextIOWrapper(
            io.BufferedWriter(_GuardedStdout(1)),
            encoding=real.encoding,
            errors=real.errors,
            line_buffering=real.line_buffering,
        )


def flush() -> None:
    """Write what is still buffered (the error of a full disk surfaces here at the latest)."""
    if sys.stdout is not None:
        sys.stdout.flush()


def discard() -> None:
    """Send the rest of the output to /dev/null (after a broken pipe or a write error)."""
    _to_devnull(1)


class _GuardedStdout(io.RawIOBase):
    """File descriptor 1 whose write errors are an :class:`OutputError` (a broken pipe stays itself)."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return os.isatty(self._fd)

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            return os.write(self._fd, data)
        except BrokenPipeError:
            raise
        except OSError as exc:
            discard()  # the interpreter's final flush must not fail again
            raise OutputError(f"cannot write the output ({exc.strerror or exc})") from exc


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _fileno(stream: object) -> int | None:
    try:
        return int(stream.fileno())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return None


def _to_devnull(fd: int) -> None:
    null = os.open(os.devnull, os.O_RDWR)
    if null != fd:
        os.dup2(null, fd)
        os.close(null)
