"""One build at a time per index folder (an advisory ``flock`` on ``.lock``).

The lock is released by the kernel when its holder exits, even on ``kill -9``,
so a crashed build never leaves the index locked. ``.lock`` is opened without
following links and must be a regular file with one name: a link planted there
(``.lock -> ~/victim.txt``) is refused, never truncated.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import IndexLockedError, IndexWriteError, os_reason

_WRITABLE = "pass --index a writable folder"


def _open_lock_file(index_root: Path) -> int:
    path = index_root / ".lock"
    existed = index_root.is_dir()
    try:
        index_root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IndexWriteError(
            f"cannot create the index folder {index_root} ({os_reason(exc)})", fix=_WRITABLE, reason=os_reason(exc)
        ) from exc
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise IndexWriteError(
                f"{path} is a symbolic link (notes-qa never writes through a link there)", fix=f"remove it: rm {path}"
            ) from exc
        where = "write in the index folder" if existed else "create the index folder"
        raise IndexWriteError(
            f"cannot {where} {index_root} ({os_reason(exc)})", fix=_WRITABLE, reason=os_reason(exc)
        ) from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        os.close(fd)
        what = "has other names (a hard link)" if stat.S_ISREG(info.st_mode) else "is not a regular file"
        raise IndexWriteError(
            f"{path} {what} (notes-qa only writes its own lock file there)", fix=f"remove it: rm {path}"
        )
    return fd


@contextmanager
def build_lock(index_root: Path, *, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the build lock of ``index_root``, waiting up to ``wait_seconds`` for it.

    Raises ``IndexLockedError`` if another build still holds it after that.
    """
    fd = _open_lock_file(index_root)
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
                        f"another notes-qa index run (pid {holder}) is building {index_root}",
                        fix="wait for it to finish and run again",
                    ) from None
                time.sleep(0.1)
        try:  # who holds it, for the message of a second run; a full disk must not stop the build
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        except OSError:
            pass
        yield
    finally:
        os.close(fd)  # closing releases the lock


def wait_for_build(index_root: Path, *, wait_seconds: float) -> None:
    """Return once no build holds the lock of ``index_root`` (``IndexLockedError`` after ``wait_seconds``)."""
    if not (index_root / ".lock").exists():
        return
    with build_lock(index_root, wait_seconds=wait_seconds):
        pass
