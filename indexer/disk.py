"""Every write a build makes, through one small object (and so one place to make them fail).

The index files, the folder rename and the ``current`` link all go through a
:class:`Disk`. Production uses ``Disk()``; tests pass ``Disk(fault=...)``, a
function called before each operation with its kind and path, to count the
operations of a build and make the Nth one fail with ``ENOSPC`` or ``EIO``.
Writes are buffered in blocks of :data:`BLOCK` bytes, so a small build makes a
few dozen operations and a large one is still written in large writes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

#: fault(kind, path): called before each operation; raising OSError makes it fail.
FaultFn = Callable[[str, Path], None]

BLOCK = 1 << 20


class Sink:
    """A file being written: ``write(bytes)`` buffers, full blocks go to disk."""

    def __init__(self, disk: Disk, path: Path, fd: int) -> None:
        self._disk = disk
        self._path = path
        self._fd = fd
        self._buffer = bytearray()

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._buffer += data
        if len(self._buffer) >= BLOCK:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if not self._buffer:
            return
        self._disk.op("write", self._path)
        view = memoryview(self._buffer)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._buffer = bytearray()


class Disk:
    """Creates files, folders and links for a build; see the module text."""

    def __init__(self, fault: FaultFn | None = None) -> None:
        self._fault = fault

    def op(self, kind: str, path: Path) -> None:
        if self._fault is not None:
            self._fault(kind, path)

    def mkdir(self, path: Path) -> None:
        self.op("mkdir", path)
        path.mkdir(parents=True)

    @contextmanager
    def create(self, path: Path) -> Iterator[Sink]:
        """A new file (never an existing one, never through a link), flushed to disk when the block ends."""
        self.op("create", path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            sink = Sink(self, path, fd)
            yield sink
            sink.flush()
            self.op("fsync", path)
            os.fsync(fd)
        finally:
            os.close(fd)

    def write_bytes(self, path: Path, data: bytes) -> None:
        with self.create(path) as sink:
            sink.write(data)

    def write_text(self, path: Path, text: str) -> None:
        self.write_bytes(path, text.encode("utf-8"))

    def write_json(self, path: Path, payload: Any, *, indent: int | None = 1) -> None:
        self.write_text(path, json.dumps(payload, ensure_ascii=False, indent=indent))

    def save_npy(self, path: Path, array: np.ndarray) -> None:
        import numpy as np

        with self.create(path) as sink:
            np.save(sink, array, allow_pickle=False)  # a non-file object: numpy writes through sink.write

    def rename(self, source: Path, target: Path) -> None:
        self.op("rename", target)
        os.rename(source, target)

    def replace(self, source: Path, target: Path) -> None:
        self.op("rename", target)
        os.replace(source, target)

    def symlink(self, target: str, link: Path) -> None:
        self.op("symlink", link)
        os.symlink(target, link)

    def fsync(self, path: Path) -> None:
        """Flush a file or a folder (its entries) to disk."""
        self.op("fsync", path)
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
