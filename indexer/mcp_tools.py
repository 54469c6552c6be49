"""What the MCP server's tools do, without the protocol: search, read a note, describe the index.

Each method takes plain arguments and returns a frozen dataclass (the tool's
structured result; the MCP SDK derives the output schema from it) or raises a
``NotesQAError`` whose one-line message the server returns as the tool error,
the same sentence the CLI prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import NotesQAError, UsageError
from .index_files import current_build
from .live_index import LiveIndex
from .models import SearchFilter, SearchResult
from .note_reader import NoteLines, read_note_lines
from .search import check_query

if TYPE_CHECKING:
    from .settings import Settings

#: At most this many hits per call: an answer an assistant can read, not a dump of the index.
MAX_K = 50


@dataclass(frozen=True)
class HitInfo:
    rank: int
    score: float
    path: str  # relative to the corpus; what read_note takes
    heading: tuple[str, ...]  # the section's heading path, outermost first
    start_line: int  # the chunk's lines in the note, 1-based, inclusive
    end_line: int
    answer_line: int | None  # the line that best answers, when the engine judges it
    snippet: str  # the answering lines of the chunk, one per line
    snippet_lines: tuple[int, ...]  # the note line of each snippet line


@dataclass(frozen=True)
class SearchAnswer:
    query: str
    mode: str
    match: str | None  # "good", "weak" or "none" when the engine judges it
    hits: tuple[HitInfo, ...]
    seconds: float
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class IndexInfo:
    state: str  # "fresh", "stale", "missing" or "broken"
    reason: str
    corpus: str
    index: str
    notes: int | None
    chunks: int | None
    lines: int | None
    model: str | None
    encoder: str | None  # the precision, under the name earlier versions gave it (kept for clients)
    precision: str | None  # "fp32" or "int8": the vectors the index was embedded with
    backend: str | None  # what embeds the questions: "onnx" or "sentence-transformers"
    built_at: str | None
    loaded: bool  # the server holds this build in memory


def answer_from(result: SearchResult, warnings: tuple[str, ...] = ()) -> SearchAnswer:
    hits = tuple(
        HitInfo(
            rank=h.rank,
            score=round(h.score, 6),
            path=h.chunk.path,
            heading=h.chunk.heading,
            start_line=h.chunk.start_line,
            end_line=h.chunk.end_line,
            answer_line=h.answer_line,
            snippet=h.snippet.text,
            snippet_lines=h.snippet.line_numbers,
        )
        for h in result.hits
    )
    return SearchAnswer(result.query, result.mode, result.match, hits, round(result.seconds, 6),
                        result.warnings + warnings)


class NotesTools:
    """The three tools over one warm, self-refreshing index."""

    def __init__(self, settings: Settings, live: LiveIndex | None = None) -> None:
        self.settings = settings
        self.live = live or LiveIndex(settings)

    def search_notes(
        self, query: str, k: int = 5, mode: str = "hybrid", path: str | None = None, heading: str | None = None
    ) -> SearchAnswer:
        check_query(query, k, mode)
        if k > MAX_K:
            raise UsageError(f"k must be at most {MAX_K} (got {k})")
        filters = SearchFilter(
            paths=(path,) if path and path.strip() else (),
            headings=(heading,) if heading and heading.strip() else (),
        )
        fresh = self.live.get()
        return answer_from(fresh.searcher.search(query, k=k, mode=mode, filters=filters), fresh.warnings)

    def read_note(self, path: str, start_line: int | None = None, end_line: int | None = None) -> NoteLines:
        return read_note_lines(
            self.settings.corpus_dir, path, start_line, end_line, max_file_bytes=self.settings.chunker.max_file_bytes
        )

    def index_status(self) -> IndexInfo:
        """The index on disk against the notes, as it is now (this does not refresh it)."""
        from .build import index_status
        from .manifest import Manifest, read_manifest

        status = index_status(self.settings)
        folder = current_build(self.settings.index_dir)
        manifest: Manifest | None = None
        if folder is not None:
            try:
                manifest = read_manifest(folder)
            except NotesQAError:
                manifest = None
        return IndexInfo(
            state=status.state,
            reason=status.reason,
            corpus=str(self.settings.corpus_dir),
            index=str(folder if folder is not None else self.settings.index_dir),
            notes=None if manifest is None else manifest.counts.files,
            chunks=None if manifest is None else manifest.counts.chunks,
            lines=None if manifest is None else manifest.counts.lines,
            model=None if manifest is None else manifest.model.id or None,
            encoder=None if manifest is None else manifest.encoder.precision,
            precision=None if manifest is None else manifest.encoder.precision,
            backend=None if manifest is None else manifest.encoder.backend,
            built_at=None if manifest is None else manifest.built_at,
            loaded=folder is not None and folder == self.live.loaded_folder,
        )
