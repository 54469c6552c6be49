"""One build at a time per index folder (an advisory ``flock`` on ``.lock``)."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import IndexFileError


@contextmanager
def build_lock(index_root: Path, *, wait_seconds: float = 0.0) -> Iterator[None]:
    index_root.mkdir(parents=True, exist_ok=True)
    path = index_root / ".lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
                    raise IndexFileError(
                        f"another notes-qa index run (pid {holder}) is building {index_root}; "
                        "wait for it to finish and run again"
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock
