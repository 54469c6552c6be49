"""One build at a time per index folder (an advisory ``flock`` on ``.lock``).

The lock is released by the kernel when its holder exits, even on ``kill -9``,
so a crashed build never leaves the index locked.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import IndexLockedError, IndexWriteError


@contextmanager
def build_lock(index_root: Path, *, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the build lock of ``index_root``, waiting up to ``wait_seconds`` for it.

    Raises ``IndexLockedError`` if another build still holds it after that.
    """
    path = index_root / ".lock"
    try:
        index_root.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise IndexWriteError(
            f"cannot create the index folder {index_root} ({exc.strerror or exc.__class__.__name__}); "
            "pass --index a writable folder"
        ) from exc
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
                    raise IndexLockedError(
                        f"another notes-qa index run (pid {holder}) is building {index_root}; "
                        "wait for it to finish and run again"
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock
