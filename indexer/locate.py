"""Where a line the index holds is in its note now (the note may have changed since the build)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .corpus import SkippedNote, read_note_bytes
from .models import Chunk

SAME, MOVED, CHANGED, GONE = "same", "moved", "changed", "gone"


@dataclass(frozen=True)
class LineLocation:
    """``state``: ``same`` (the line is still there), ``moved`` (its text is now at ``line``),
    ``changed`` (its text is nowhere in the note) or ``gone`` (the note was deleted or cannot be read)."""

    state: str
    line: int | None
    reason: str = ""


def _matches(indexed: str, current: str) -> bool:
    # A very long line is indexed in parts, so the indexed text may be part of the line.
    return indexed == current or (bool(indexed.strip()) and indexed in current)


def locate_line(corpus_dir: Path, chunk: Chunk, line: int, *, max_bytes: int = 10_000_000) -> LineLocation:
    """Check line ``line`` of ``chunk``'s note against the text the index holds for it.

    A line whose text moved is found again: the occurrence nearest the old line wins.
    """
    try:
        data = read_note_bytes(Path(corpus_dir) / chunk.path, max_bytes)
    except SkippedNote as exc:
        return LineLocation(GONE, None, exc.message)
    lines = data.decode("utf-8-sig", errors="replace").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    indexed = dict(chunk.numbered_lines()).get(line)
    if indexed is None or not indexed.strip():  # not a line the index holds text for: nothing to compare
        return LineLocation(SAME if line <= len(lines) else CHANGED, line if line <= len(lines) else None)
    if line <= len(lines) and _matches(indexed, lines[line - 1]):
        return LineLocation(SAME, line)
    found = [n for n, text in enumerate(lines, start=1) if _matches(indexed, text)]
    if not found:
        return LineLocation(CHANGED, None)
    return LineLocation(MOVED, min(found, key=lambda n: (abs(n - line), n)))
