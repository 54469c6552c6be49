"""A freshness check's folder walk in a child process, while the asking process starts up.

Before a cold ``ask`` answers, every note's stat is compared with the index's record (``corpus.py``).
On a 100,000-note vault the walk (``os.scandir`` and one ``stat`` per note) takes about 0.5 s of
CPU, and it cannot share the process with the imports, the manifest, the index's load and the
question encoder: Python holds the GIL between ``stat`` calls (a walking thread made it slower). A
forked child walks on the other core instead and sends back a :class:`~indexer.corpus.WalkedNotes`
through a pipe: paths and warnings as NUL-separated UTF-8, stats as int64.

The child is forked only where that is safe and pays: on Linux, from a process with no other
thread (a fork copies one thread, and a lock another held stays held), for an index of at least
:data:`MIN_NOTES` notes. Anything else, or a child that fails, leaves the walk to the caller: the
check then walks in-process, as it always did, and says what is wrong itself.
"""

from __future__ import annotations

import array
import contextlib
import os
import signal
import struct
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .corpus import WalkedNotes, walk_notes
from .errors import NotesQAError

#: Only an index of at least this many notes (its note table's rows) has its walk done aside.
MIN_NOTES: Final = 5_000

_HEADER = struct.Struct("<4Q")  # bytes of: paths, walk paths, warnings, stats


def _encode(walked: WalkedNotes) -> bytes:
    def joined(texts: list[str] | tuple[str, ...]) -> bytes:
        return "\0".join(texts).encode("utf-8", "surrogateescape")

    parts = (joined(walked.rels), joined(walked.paths), joined(walked.warnings), walked.stats.tobytes())
    return _HEADER.pack(*(len(p) for p in parts)) + b"".join(parts)


def _decode(data: bytes) -> WalkedNotes | None:
    if len(data) < _HEADER.size:
        return None
    sizes = _HEADER.unpack_from(data)
    if _HEADER.size + sum(sizes) != len(data) or sizes[3] % 32:
        return None
    parts, at = [], _HEADER.size
    for size in sizes:
        parts.append(data[at : at + size])
        at += size

    def split(blob: bytes) -> list[str]:
        return blob.decode("utf-8", "surrogateescape").split("\0") if blob else []

    rels, paths, warnings = split(parts[0]), split(parts[1]), split(parts[2])
    values = array.array("q")
    values.frombytes(parts[3])  # native byte order: the child is a fork of this process
    if not len(rels) == len(paths) == len(values) // 4:
        return None
    return WalkedNotes(rels, paths, values, tuple(warnings))


@dataclass
class WalkAside:
    """A walk running in child ``pid``, whose result comes through the pipe ``fd``."""

    pid: int
    fd: int
    _status: int = -1  # the child's exit code, once it is reaped

    def result(self) -> WalkedNotes | None:
        """The child's walk, once it is done; None if it failed (the caller walks itself)."""
        chunks = []
        done = False
        try:
            while part := os.read(self.fd, 1 << 20):
                chunks.append(part)
            done = True
        finally:  # interrupted (Ctrl+C): the child is stopped, not waited for
            self._end(kill=not done)
        return _decode(b"".join(chunks)) if self._status == 0 else None

    def cancel(self) -> None:
        """Stop the child, if it still runs (the result is not wanted)."""
        if self.fd >= 0:
            self._end(kill=True)

    def _end(self, *, kill: bool) -> None:
        if self.fd < 0:
            return
        os.close(self.fd)
        self.fd = -1
        if kill:
            with contextlib.suppress(ProcessLookupError):  # it ended already
                os.kill(self.pid, signal.SIGKILL)
        try:
            _, status = os.waitpid(self.pid, 0)
        except ChildProcessError:  # reaped by someone else (SIGCHLD ignored): its result is not trusted
            return
        self._status = os.waitstatus_to_exitcode(status)


def start_walk(
    root: Path, notes: int, *, max_file_bytes: int, skip: tuple[Path, ...], follow_links: bool
) -> WalkAside | None:
    """The walk of ``root`` started in a child process, or None where it is not worth it or not safe
    (``notes``: how many notes the index records; see the module)."""
    if notes < MIN_NOTES or not sys.platform.startswith("linux") or threading.active_count() != 1:
        return None
    try:
        read_end, write_end = os.pipe()
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:  # the child: walk, send, and leave without running anything of the parent's
        code = 1
        try:
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl+C: the parent says so, not a second traceback
            os.close(read_end)
            data = memoryview(_encode(walk_notes(root, max_file_bytes=max_file_bytes, skip=skip,
                                                 follow_links=follow_links)))
            while data:
                data = data[os.write(write_end, data):]
            code = 0
        except (NotesQAError, OSError, ValueError):
            pass  # the parent walks itself and says what is wrong
        finally:
            os._exit(code)
    os.close(write_end)
    return WalkAside(pid, read_end)
