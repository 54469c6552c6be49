"""Frozen dataclasses that cross module boundaries."""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from .text_keys import text_key


@dataclass(frozen=True)
class Chunk:
    """A piece of one note that fits the embedding model.

    ``start_line`` and ``end_line`` are 1-based and inclusive, in the note file.
    ``text`` is the exact source text of those lines, blank lines between blocks
    left out (a very long line may be split, so ``text`` holds only part of it).
    """

    id: str
    path: str  # relative to the corpus root, with forward slashes
    heading: tuple[str, ...]
    start_line: int
    end_line: int
    text: str
    #: The file line of each line of ``text`` (1-based); empty means consecutive
    #: lines from ``start_line``.
    line_numbers: tuple[int, ...] = ()

    # What the methods below derive from the fields is made once per chunk (a build asks for each several
    # times) and kept beside the fields: not a field, so equality, hashing and the JSON form ignore it.

    def numbered_lines(self) -> tuple[tuple[int, str], ...]:
        """Each line of ``text`` with its line number in the note file."""
        made: tuple[tuple[int, str], ...] | None = self.__dict__.get("_numbered")
        if made is None:
            lines = self.text.split("\n")
            numbers = self.line_numbers or tuple(range(self.start_line, self.start_line + len(lines)))
            made = tuple(zip(numbers, lines))
            object.__setattr__(self, "_numbered", made)
        return made

    @property
    def heading_path(self) -> str:
        return " > ".join(self.heading)

    def embed_text(self) -> str:
        """What the model sees: the heading path, then the text."""
        made: str | None = self.__dict__.get("_embed_text")
        if made is None:
            made = f"{self.heading_path}\n{self.text}" if self.heading else self.text
            object.__setattr__(self, "_embed_text", made)
        return made

    def text_key(self) -> str:
        """``text_key`` of :meth:`embed_text`: the key this chunk's vector is stored and reused under."""
        made: str | None = self.__dict__.get("_text_key")
        if made is None:
            made = text_key(self.embed_text())
            object.__setattr__(self, "_text_key", made)
        return made


@dataclass(frozen=True)
class LineText:
    """A content line of a note and the text its vector embeds (heading path, table header, the line)."""

    path: str
    line: int  # 1-based
    text: str


@dataclass(frozen=True)
class Span:
    """A half-open character range ``[start, end)`` in a string."""

    start: int
    end: int


@dataclass(frozen=True)
class Snippet:
    """The lines of a chunk that answer the question, in note order, one per line of ``text``."""

    text: str
    start_line: int  # 1-based line in the note file of the snippet's first line
    end_line: int
    highlights: tuple[Span, ...] = ()
    #: The note line of each line of ``text`` (they need not be consecutive).
    line_numbers: tuple[int, ...] = ()


@dataclass(frozen=True)
class Hit:
    rank: int
    score: float
    chunk: Chunk
    snippet: Snippet
    dense_score: float | None = None
    keyword_score: float | None = None
    #: The note line (1-based) that best answers the question; one of ``snippet.line_numbers``.
    answer_line: int | None = None
    #: That line's cosine with the question: absolute, comparable across questions (None: no vector).
    answer_score: float | None = None


@dataclass(frozen=True)
class SearchResult:
    query: str
    mode: str
    hits: tuple[Hit, ...]
    seconds: float = 0.0
    warnings: tuple[str, ...] = field(default=())
    #: How well the notes answer: "good", "weak" or "none" (an absolute, calibrated signal); None if not judged.
    match: str | None = None


@dataclass(frozen=True)
class SearchFilter:
    """Which chunks a search may return; applied before ranking.

    ``paths``: globs on the note's path relative to the corpus (``cache*``,
    ``aws/*.md``); a glob also matches the file name alone, and a folder name
    matches every note below it. ``headings``: texts matched, case-insensitively,
    as a substring of any element of the heading path. A chunk passes when it
    matches one of the globs (if any) and one of the heading texts (if any).
    """

    paths: tuple[str, ...] = ()
    headings: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.paths or self.headings)

    def allows(self, chunk: Chunk) -> bool:
        if self.paths and not any(_path_matches(chunk.path, glob) for glob in self.paths):
            return False
        if self.headings:
            folded = [h.casefold() for h in chunk.heading]
            return any(any(t.casefold() in h for h in folded) for t in self.headings)
        return True


def _path_matches(path: str, glob: str) -> bool:
    glob = glob.strip().removeprefix("./")
    name = path.rsplit("/", 1)[-1]
    folder = glob.rstrip("/")
    return fnmatchcase(path, glob) or fnmatchcase(name, glob) or (bool(folder) and path.startswith(folder + "/"))
