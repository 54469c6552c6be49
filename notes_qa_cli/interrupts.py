"""Ctrl+C at any moment of a ``notes-qa`` run: one line on stderr and exit 130, never a traceback.

Installed by the process entry (``notes_qa_cli``) before argument parsing
and before any heavy import. While a command runs, Ctrl+C raises
``KeyboardInterrupt`` as usual, so ``finally`` blocks (the build lock, a
half-written build folder) still clean up; the handler also records that it
fired, because some libraries turn the ``KeyboardInterrupt`` into another
error: onnxruntime's C extension, interrupted while it initialises, raises
``ImportError: initialization failed``. Outside a command (once an outcome is
decided, and while Python shuts down) there is nothing left to clean up, so
Ctrl+C ends the process at once. Only the standard library is imported here.
"""

from __future__ import annotations

import os
import signal
from contextlib import suppress
from types import FrameType

MESSAGE = "notes-qa: interrupted"


class Interrupts:
    """The SIGINT handler of one process, and whether it has fired."""

    def __init__(self) -> None:
        self.received = False

    def install(self) -> Interrupts:
        signal.signal(signal.SIGINT, self._raise)
        return self

    def _raise(self, signum: int, frame: FrameType | None) -> None:
        self.received = True
        raise KeyboardInterrupt

    def finish(self) -> None:
        """From now on a Ctrl+C ends the process at once (the outcome is decided, nothing to clean up)."""
        signal.signal(signal.SIGINT, _exit_now)


def _exit_now(signum: int, frame: FrameType | None) -> None:
    with suppress(OSError):  # stderr closed: the exit code still tells
        os.write(2, (MESSAGE + "\n").encode())
    os._exit(130)
