"""The chunks of a loaded build (``chunks.jsonl``), parsed when first used.

A cold ``ask`` on a 100,000-note vault spent 1.4 s turning every line of
``chunks.jsonl`` into a :class:`~indexer.models.Chunk`, though a question shows
five. :class:`ChunkTable` reads the file's bytes once, finds where each line
starts, and parses (and checks) a chunk the first time it is asked for. Up to
:data:`EAGER_CHUNKS` chunks every line is parsed and checked when loaded, so a
damaged line of a small index is found by the load, as before.
"""

from __future__ import annotations

import json
import mmap
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, overload

from .errors import REBUILD, IndexFileError, os_reason
from .manifest import MAX_JSON_BYTES
from .models import Chunk
from .safe_read import open_binary

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

#: Up to this many chunks, all are parsed when the build is loaded (the bundled notes have 64). Above it
#: parsing waits for use: SciFact's 5,183 abstracts as notes (13,627 chunks) load in 0.02 s instead of 0.16-0.35 s.
EAGER_CHUNKS: Final = 2_000
#: No line of ``chunks.jsonl`` is longer (a chunk holds at most 256 word pieces of capped lines).
MAX_CHUNK_LINE_BYTES: Final = MAX_JSON_BYTES


def chunk_from_json(record: Any, number: int) -> Chunk:
    """The chunk of line ``number`` (1-based) of ``chunks.jsonl``, or IndexFileError."""
    ok = (
        isinstance(record, dict)
        and isinstance(record.get("id"), str)
        and isinstance(record.get("path"), str)
        and isinstance(record.get("heading"), list)
        and all(isinstance(h, str) for h in record["heading"])
        and isinstance(record.get("start_line"), int)
        and isinstance(record.get("end_line"), int)
        and isinstance(record.get("text"), str)
        and 1 <= record["start_line"] <= record["end_line"]
        and isinstance(record.get("lines", []), list)
        and all(isinstance(n, int) for n in record.get("lines", []))
    )
    if not ok:
        raise IndexFileError(f"chunks.jsonl line {number} is not a valid chunk", fix=REBUILD)
    numbers = tuple(record.get("lines", []))
    if numbers and len(numbers) != record["text"].count("\n") + 1:
        raise IndexFileError(f"chunks.jsonl line {number} has a line list that does not match its text", fix=REBUILD)
    return Chunk(
        record["id"],
        record["path"],
        tuple(record["heading"]),
        record["start_line"],
        record["end_line"],
        record["text"],
        numbers,
    )


def _parse_line(raw: bytes, number: int) -> Chunk:
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise IndexFileError(f"chunks.jsonl line {number} is not UTF-8", fix=REBUILD) from exc
    except json.JSONDecodeError as exc:
        raise IndexFileError(f"chunks.jsonl line {number} is not JSON", fix=REBUILD) from exc
    return chunk_from_json(record, number)


class ChunkTable(Sequence[Chunk]):
    """The chunks of one ``chunks.jsonl``, in order; each parsed (and checked) on first use, then kept.

    A damaged line found after loading raises IndexFileError (with the rebuild fix)
    where the chunk is used.
    """

    __slots__ = ("_data", "_ends", "_parsed")

    def __init__(self, data: bytes | mmap.mmap, ends: npt.NDArray[np.int64]) -> None:
        self._data = data
        self._ends = ends  # the offset just past each line's newline
        self._parsed: dict[int, Chunk] = {}

    @classmethod
    def read(cls, path: Path, expected: int) -> ChunkTable:
        """The table of ``path``, which must hold ``expected`` lines (one per chunk)."""
        import numpy as np

        try:
            with open_binary(path) as handle:
                size = os.fstat(handle.fileno()).st_size
                # mapped, not read: the page cache holds it, and only the chunks used are decoded
                data: bytes | mmap.mmap = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        except OSError as exc:
            raise IndexFileError(f"chunks.jsonl in {path.parent} is unreadable ({os_reason(exc)})",
                                 fix=REBUILD) from exc
        ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10).astype(np.int64) + 1
        if len(data) and data[-1:] != b"\n":  # a last line without its newline still counts
            ends = np.append(ends, len(data))
        if len(ends) != expected:
            raise IndexFileError(f"chunks.jsonl has {len(ends)} chunks, the manifest says {expected}", fix=REBUILD)
        longest = int(np.diff(ends, prepend=0).max()) if len(ends) else 0
        if longest > MAX_CHUNK_LINE_BYTES:
            raise IndexFileError(f"chunks.jsonl has a line of {longest:,} bytes, more than a chunk can be",
                                 fix=REBUILD)
        table = cls(data, ends)
        if expected <= EAGER_CHUNKS:
            for i in range(expected):
                table[i]
        return table

    def __len__(self) -> int:
        return len(self._ends)

    @overload
    def __getitem__(self, index: int) -> Chunk: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Chunk]: ...

    def __getitem__(self, index: int | slice) -> Chunk | Sequence[Chunk]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        count = len(self._ends)
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError("chunk index out of range")
        chunk = self._parsed.get(index)
        if chunk is None:
            start = int(self._ends[index - 1]) if index else 0
            chunk = _parse_line(self._data[start : int(self._ends[index])], index + 1)
            self._parsed[index] = chunk
        return chunk

    def __iter__(self) -> Iterator[Chunk]:
        for i in range(len(self._ends)):
            yield self[i]

    def __eq__(self, other: object) -> bool:
        """Two tables are equal when they hold equal chunks in the same order (as tuples of chunks would)."""
        if not isinstance(other, ChunkTable):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]  # mutable cache inside, equality by content
