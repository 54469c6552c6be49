"""Read files without being stalled or flooded: regular files only, sizes bounded.

A FIFO opened for reading blocks until a writer appears, and ``/dev/zero``
never ends; a link planted in an index or cache folder may point at either.
Every file the engine reads passes through :func:`open_regular`, which opens
without blocking, refuses anything but a regular file, and (for the readers
here) never reads more than the caller's limit.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


class SpecialFileError(OSError):
    """The path is a FIFO, device, socket or folder, not a regular file."""


def open_regular(path: Path, *, follow_links: bool = True) -> int:
    """A read-only descriptor of ``path`` if it is a regular file; ``SpecialFileError`` otherwise.

    ``follow_links=False`` refuses a final symbolic link (``ELOOP``).
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    if not follow_links:
        flags |= os.O_NOFOLLOW
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO, device or socket"
            raise SpecialFileError(errno.EINVAL, f"not a regular file but {kind}", str(path))
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextmanager
def open_binary(path: Path, *, follow_links: bool = True) -> Iterator[BinaryIO]:
    """``open(path, "rb")`` for regular files only (see :func:`open_regular`)."""
    with os.fdopen(open_regular(path, follow_links=follow_links), "rb") as handle:
        yield handle


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The bytes of the regular file ``path``; ``OSError(EFBIG)`` if it holds more than ``max_bytes``."""
    with open_binary(path) as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise OSError(errno.EFBIG, f"larger than {max_bytes:,} bytes", str(path))
    return data


def read_text(path: Path, max_bytes: int, encoding: str = "utf-8") -> str:
    """The text of the regular file ``path`` (see :func:`read_bytes`); ``UnicodeDecodeError`` if not ``encoding``."""
    return read_bytes(path, max_bytes).decode(encoding)


@contextmanager
def open_text(path: Path, encoding: str = "utf-8") -> Iterator[io.TextIOWrapper]:
    """A text reader over the regular file ``path``, for line-by-line reading."""
    with open_binary(path) as raw, io.TextIOWrapper(raw, encoding=encoding) as handle:
        yield handle
