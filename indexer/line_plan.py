"""A build's line rows, note by note: which note lines get a vector, under which key, and from where.

Every content line of a chunk gets a row (``snippet_lines``): embedded on its own, or pooled from its
chunks' vectors (``line_vectors``). A note the previous build had, unchanged (same path, same sha256,
so the same chunks: ``Reusable.chunks``), gets the same rows, keys and vectors again, so a refresh
takes them from the previous build's ``lines.json`` as they are instead of deriving every note's rows
again (SciFact's 5,183 notes: 0.3 s of a one-note refresh). That build must have derived them with the
rules of this code (``index_files.LINE_RULES``, recorded in ``lines.json``); otherwise every note is derived.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .index_files import KeptLine
from .line_vectors import Sources, line_key, line_sources, pool_all
from .models import Chunk, LineText
from .snippets import is_content_line, table_headers

if TYPE_CHECKING:
    import numpy as np

def snippet_lines(chunks: Sequence[Chunk], texts: Mapping[str, list[str]]) -> list[LineText]:
    """Every content line of the chunks once, with the text to embed for it.

    A line is embedded with its heading path, and a table row with its header row.
    """
    seen: set[tuple[str, int]] = set()
    rows: list[LineText] = []
    headers = {path: table_headers(lines) for path, lines in texts.items()}
    for chunk in chunks:
        lines = texts[chunk.path]
        for number, _ in chunk.numbered_lines():
            if (chunk.path, number) in seen or number > len(lines) or not is_content_line(lines[number - 1]):
                continue
            seen.add((chunk.path, number))
            parts = [chunk.heading_path] if chunk.heading else []
            if number in headers[chunk.path]:
                parts.append(headers[chunk.path][number])
            parts.append(lines[number - 1].strip())
            rows.append(LineText(chunk.path, number, "\n".join(parts)))
    return rows


@dataclass
class LinePlan:
    """The rows of a build in order (each note's after the previous note's), and where each vector comes from."""

    rows: list[tuple[str, int]] = field(default_factory=list)  # (note path, line number)
    keys: list[str] = field(default_factory=list)
    own_flags: list[bool] = field(default_factory=list)  # embedded on its own (else pooled from its chunks)
    own: list[int] = field(default_factory=list)  # rows derived now and embedded on their own
    own_texts: list[str] = field(default_factory=list)
    pooled: list[int] = field(default_factory=list)  # rows derived now and pooled
    sources: list[Sources] = field(default_factory=list)  # for each pooled row, its chunks (build-wide indices)
    kept: list[int] = field(default_factory=list)  # rows taken from the previous build: its vector, by key

    def add_note(self, path: str, lines: list[str], chunks: Sequence[Chunk], first_chunk: int,
                 previous: Sequence[KeptLine] | None = None) -> None:
        """The rows of one note: ``chunks`` are its chunks, the first of them the build's ``first_chunk``-th;
        ``previous``: its rows in the previous build, when they can be taken as they are."""
        if previous is not None:
            for kept in previous:
                self._row((kept.path, kept.line), kept.key, kept.own)
                self.kept.append(len(self.rows) - 1)
            return
        chunks = list(chunks)
        derived = snippet_lines(chunks, {path: lines})
        for row, held in zip(derived, line_sources(chunks, derived)):
            self._row((row.path, row.line), line_key(row, held, chunks), not held)
            if held:
                self.pooled.append(len(self.rows) - 1)
                self.sources.append(tuple((first_chunk + index, chars) for index, chars in held))
            else:
                self.own.append(len(self.rows) - 1)
                self.own_texts.append(row.text)

    def _row(self, where: tuple[str, int], key: str, own: bool) -> None:
        self.rows.append(where)
        self.keys.append(key)
        self.own_flags.append(own)

    @property
    def kept_own(self) -> int:
        """Rows taken from the previous build that were embedded on their own (texts it reuses)."""
        return sum(self.own_flags[i] for i in self.kept)

    def vectors(self, chunk_vectors: np.ndarray, own_vectors: np.ndarray, previous: Mapping[str, np.ndarray]) -> np.ndarray:
        """Every row's vector: ``own_vectors`` (one per :attr:`own` row), pooled, or the previous build's."""
        import numpy as np

        out = np.zeros((len(self.rows), chunk_vectors.shape[1]), dtype=np.float32)
        if self.own:
            out[self.own] = own_vectors
        if self.pooled:
            out[self.pooled] = pool_all(chunk_vectors, self.sources)
        if self.kept:
            out[self.kept] = np.stack([previous[self.keys[i]] for i in self.kept])
        return out
