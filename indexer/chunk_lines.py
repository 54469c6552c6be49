"""Which line vector each line of each chunk has: the table the searcher blends and snippets with.

A chunk's lines are the lines of its ``text`` (``Chunk.numbered_lines``); each is
a row of ``lines.npy`` (its vector) or -1 (a line with no vector: blank, a
heading, a fence). The table is flat, chunks in order:

    chunk_lines.npy         int64, one entry per line of every chunk: its row, or -1
    chunk_lines.starts.npy  int64, ``chunks + 1`` offsets: chunk i's lines are
                            ``rows[starts[i]:starts[i + 1]]``

A build writes both files; a build from before they existed gets the table
computed from its chunks and ``lines.json`` when loaded (what every load did
until 2026-12-03, 0.8 s at 100,000 chunks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import REBUILD, IndexFileError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from .disk import Disk
    from .models import Chunk

ROWS_FILE = "chunk_lines.npy"
STARTS_FILE = "chunk_lines.starts.npy"


@dataclass(frozen=True)
class ChunkLines:
    """The line rows of every chunk (``rows``, -1: no vector) and where each chunk's run starts."""

    rows: npt.NDArray[np.int64]
    starts: npt.NDArray[np.int64]

    @property
    def chunks(self) -> int:
        return len(self.starts) - 1

    def of(self, chunk: int) -> npt.NDArray[np.int64]:
        """The rows of chunk ``chunk``'s lines, in order (-1 where a line has no vector)."""
        return self.rows[int(self.starts[chunk]) : int(self.starts[chunk + 1])]

    def save(self, folder: Path, disk: Disk) -> None:
        disk.save_npy(folder / ROWS_FILE, self.rows)
        disk.save_npy(folder / STARTS_FILE, self.starts)


def chunk_lines_of(chunks: Sequence[Chunk], line_rows: Sequence[tuple[str, int]]) -> ChunkLines:
    """The table for ``chunks``, whose line vectors are ``line_rows`` (each a note path and line number)."""
    import numpy as np

    position = {(path, line): i for i, (path, line) in enumerate(line_rows)}
    rows: list[int] = []
    starts = [0]
    for chunk in chunks:
        rows.extend(position.get((chunk.path, n), -1) for n, _ in chunk.numbered_lines())
        starts.append(len(rows))
    return ChunkLines(np.array(rows, dtype=np.int64), np.array(starts, dtype=np.int64))


def load_chunk_lines(folder: Path, chunks: int, lines: int) -> ChunkLines:
    """Read the table of a build with ``chunks`` chunks and ``lines`` line vectors, checked (IndexFileError)."""
    import numpy as np

    try:
        rows = np.load(folder / ROWS_FILE, allow_pickle=False)
        starts = np.load(folder / STARTS_FILE, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise IndexFileError(f"{ROWS_FILE} in {folder} is unreadable", fix=REBUILD) from exc
    ok = (
        rows.dtype == np.int64 and starts.dtype == np.int64 and rows.ndim == 1 and starts.ndim == 1
        and len(starts) == chunks + 1 and int(starts[0]) == 0 and int(starts[-1]) == len(rows)
        and bool(np.all(np.diff(starts) >= 1))  # every chunk has at least one line
        and (not len(rows) or (int(rows.min()) >= -1 and int(rows.max()) < lines))
    )
    if not ok:
        raise IndexFileError(f"{ROWS_FILE} in {folder} does not match the chunks and lines", fix=REBUILD)
    return ChunkLines(rows, starts)
