"""Small file operations every module shares: atomic replace of a file or a folder, folder fsync, sha256.

A build writes its index files through :class:`indexer.disk.Disk` (which makes
faults injectable); everything else that writes one file in place (the encoder
cache, the ONNX export, a saved vector index, the TUI's state) uses
:func:`atomic_path` or :func:`atomic_write`, so a crash leaves either the old
file or the new one, never half of one. A folder written as a whole (the BEIR
index cache) uses :func:`atomic_folder`.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast

from .errors import REBUILD, IndexFileError, os_reason
from .safe_read import open_binary


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(target: Path, *, durable: bool = False) -> Iterator[Path]:
    """A temporary path beside ``target``; when the block ends without error it replaces ``target``.

    For writers that want a file name (FAISS, onnx, torch). The temporary file is
    made with an ordinary file's mode (0666 less the umask), never follows a link
    and is removed when the block fails. ``durable`` flushes the file and its folder
    to disk before and after the rename.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666 & ~_umask())
    os.close(fd)
    try:
        yield tmp
        if durable:
            fsync_path(tmp)
        os.replace(tmp, target)
        if durable:
            fsync_path(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(target: Path, data: bytes, *, durable: bool = False) -> None:
    """Replace ``target`` with ``data`` in one step (see :func:`atomic_path`)."""
    with atomic_path(target, durable=durable) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)


def atomic_write_text(target: Path, text: str, *, durable: bool = False) -> None:
    atomic_write(target, text.encode("utf-8"), durable=durable)


@contextmanager
def atomic_folder(target: Path) -> Iterator[Path]:
    """A new empty folder beside ``target``; when the block ends without error it takes ``target``'s place.

    The old ``target`` (if any) is moved aside, the new folder renamed in, then the
    old one deleted: a reader sees the old folder, the new one or, for an instant,
    none, never a half-written one. When the block fails the new folder is deleted
    and ``target`` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    tmp.mkdir()
    try:
        yield tmp
        old: Path | None = None
        if target.is_symlink() or target.exists():
            old = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.old")
            os.rename(target, old)
        try:
            os.rename(tmp, target)
        except BaseException:
            if old is not None:
                os.rename(old, target)
            raise
        if old is not None:
            _remove(old)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def fsync_path(path: Path) -> None:
    """Flush a file, or a folder's entries, to disk."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_size(path: Path, expected: int) -> None:
    """An ``IndexFileError`` (fix: rebuild) unless the index file ``path`` is ``expected`` bytes long (it is not read)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise IndexFileError(f"index file {path} is missing or unreadable ({os_reason(exc)})", fix=REBUILD) from exc
    if size != expected:
        raise IndexFileError(f"index file {path} is {size:,} bytes, the manifest says {expected:,} "
                             "(truncated, damaged or edited)", fix=REBUILD)


#: Bytes read and hashed at a time by :func:`sha256_file`.
HASH_BLOCK = 8 << 20


def sha256_file(path: Path) -> str:
    """The sha256 of a regular file (``SpecialFileError``, an ``OSError``, for a FIFO or device)."""
    digest = hashlib.sha256()
    # Large blocks: reading and hashing each one releases the GIL, and a thread that wants it back
    # waits up to 5 ms while another runs Python (the encoder is hashed beside a build's work:
    # 90 MB in 1 MB blocks took 1.0 s there instead of 0.16 s).
    block = bytearray(HASH_BLOCK)
    view = memoryview(block)
    with open_binary(path) as handle:
        while read := cast(io.BufferedReader, handle).readinto(block):
            digest.update(view[:read])
    return digest.hexdigest()
