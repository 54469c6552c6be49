"""Pick the lines of a chunk that answer a question, and mark the query terms."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from .models import Chunk, Hit, Snippet, Span
from .terms import SPAN_WORD, STOPWORDS, stem

MAX_SNIPPET_CHARS = 400
_SPACE = re.compile(r"\s+")


def is_content_line(line: str) -> bool:
    """A line worth showing: not blank, not a heading, not a table delimiter row."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return False
    return bool(stripped.strip("|-: \t"))


_DELIMITER_ROW = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def table_header_rows(lines: Sequence[str]) -> dict[int, int]:
    """For each body row of a pipe table, the position of its header row (0-based positions in ``lines``)."""
    headers: dict[int, int] = {}
    for index in range(1, len(lines)):
        if "|" in lines[index - 1] and _DELIMITER_ROW.match(lines[index]) and "-" in lines[index]:
            row = index + 1
            while row < len(lines) and lines[row].strip() and "|" in lines[row]:
                headers[row] = index - 1
                row += 1
    return headers


def table_headers(lines: Sequence[str]) -> dict[int, str]:
    """For each body row of a pipe table, its header row (keys are 1-based line numbers).

    A row alone ("Data Durability using AOF persistence | Non persistent |") does
    not say which column is which; embedded with its header it does.
    """
    return {row + 1: lines[header].strip() for row, header in table_header_rows(lines).items()}


@lru_cache(maxsize=100_000)
def _line_stems(line: str) -> frozenset[str]:
    return frozenset(stem for _, _, stem in _word_stems(line))


def query_stems(query: str) -> set[str]:
    return {stem(w) for w in SPAN_WORD.findall(query) if w.lower() not in STOPWORDS}


@lru_cache(maxsize=100_000)
def _word_stems(line: str) -> tuple[tuple[int, int, str], ...]:
    return tuple((m.start(), m.end(), stem(m.group(0))) for m in SPAN_WORD.finditer(line))


def highlight_spans(text: str, stems: set[str]) -> tuple[Span, ...]:
    """Character spans of the words of ``text`` whose stem is a query stem."""
    if not stems:
        return ()
    spans: list[Span] = []
    offset = 0
    for line in text.split("\n"):
        spans.extend(Span(offset + a, offset + b) for a, b, stem in _word_stems(line) if stem in stems)
        offset += len(line) + 1
    return tuple(spans)


def lexical_overlap(line: str, stems: set[str]) -> float:
    """Share of the query's stems that occur in ``line``."""
    if not stems:
        return 0.0
    return len(stems & _line_stems(line)) / len(stems)


@dataclass(frozen=True)
class SnippetParams:
    """How snippet lines are chosen (tuned with ``notes-qa eval``, see README)."""

    dense_weight: float = 1.0
    lexical_weight: float = 0.3
    max_chars: int = MAX_SNIPPET_CHARS
    #: At most this many lines, each scoring within ``margin`` of the best line.
    #: Measured on eval/questions.jsonl (README): fewer lines or a tighter margin
    #: lose answers, because the best-scored line is not always the answering one.
    max_lines: int = 6
    margin: float = 1.0


def _clip(text: str, spans: tuple[Span, ...], limit: int) -> str:
    """Cut one over-long line to at most ``limit`` characters around its first query term.

    Cuts fall between words ("top 1…" never stands for "top 100"); only a
    single word longer than the window (a URL) is cut inside.
    """
    if len(text) <= limit:
        return text
    centre = spans[0].start if spans else 0
    start = max(0, min(centre - limit // 3, len(text) - (limit - 2)))
    end = start + limit - 2
    if start > 0 and not text[start - 1].isspace():  # move forward to the next word start
        space = _SPACE.search(text, start, end)
        start = space.end() if space else start
    if end < len(text) and not text[end].isspace():  # move back to the last word end
        spaces = [m.start() for m in _SPACE.finditer(text, start, end)]
        end = spaces[-1] if spaces and spaces[-1] > start else end
    head = "…" if start > 0 else ""
    tail = "…" if end < len(text) else ""
    return head + text[start:end].strip() + tail


def line_scores(
    chunk: Chunk,
    dense: Sequence[float | None],
    stems: set[str],
    params: SnippetParams = SnippetParams(),
    exclude: frozenset[int] = frozenset(),
) -> list[tuple[int, float]]:
    """(position in chunk text, score) of each content line of ``chunk`` not in ``exclude``."""
    scored = []
    for position, ((number, line), cosine) in enumerate(zip(chunk.numbered_lines(), dense)):
        if is_content_line(line) and number not in exclude:
            score = params.dense_weight * (cosine or 0.0) + params.lexical_weight * lexical_overlap(line, stems)
            scored.append((position, score))
    return scored


@dataclass(frozen=True)
class AnsweredSnippet:
    """A snippet and the line of it that best answers the question."""

    snippet: Snippet
    #: The note line (1-based) of the best-scored line; one of ``snippet.line_numbers``.
    answer_line: int
    #: That line's cosine with the question (None if the line has no vector).
    answer_cosine: float | None


def make_snippet(
    chunk: Chunk,
    dense: Sequence[float | None],
    stems: set[str],
    params: SnippetParams = SnippetParams(),
    exclude: frozenset[int] = frozenset(),
) -> Snippet | None:
    """The best lines of ``chunk`` for the question (see ``answer_snippet``)."""
    answered = answer_snippet(chunk, dense, stems, params, exclude)
    return None if answered is None else answered.snippet


def answer_snippet(
    chunk: Chunk,
    dense: Sequence[float | None],
    stems: set[str],
    params: SnippetParams = SnippetParams(),
    exclude: frozenset[int] = frozenset(),
) -> AnsweredSnippet | None:
    """The best lines of ``chunk`` for the question, in note order, within ``max_chars``,
    and the best of them.

    ``dense`` has one entry per line of ``chunk.text``: the cosine of the line's
    vector with the question, or None where there is none. Lines are taken best
    first (meaning plus shared terms) while they fit; the best line always
    goes in, cut between words around the query terms if it alone is too long.
    A table row comes with its table's header row (if the chunk holds it), even
    past ``max_chars``.
    Lines in ``exclude`` (already shown by a better hit) are left out; None
    means no line is left.
    """
    numbered = chunk.numbered_lines()
    scored = line_scores(chunk, dense, stems, params, exclude)
    if not scored and exclude:
        return None
    if not scored:
        text = _clip(chunk.text, highlight_spans(chunk.text, stems), params.max_chars)
        snippet = Snippet(text, chunk.start_line, chunk.start_line, highlight_spans(text, stems), (chunk.start_line,))
        return AnsweredSnippet(snippet, chunk.start_line, None)
    ranked = sorted(scored, key=lambda item: (-item[1], item[0]))
    chosen: list[int] = []
    texts: set[str] = set()
    size = 0
    best = ranked[0][1]
    for position, score in ranked:
        if len(chosen) >= params.max_lines or score < best - params.margin:
            break
        line = numbered[position][1].strip()
        length = len(line) + (1 if chosen else 0)
        if line in texts or (chosen and size + length > params.max_chars):
            continue  # notes repeat lines; show each once
        texts.add(line)
        chosen.append(position)
        size += length
        if size >= params.max_chars - 20:
            break
    lines = {p: numbered[p][1].strip() for p in chosen}
    if len(chosen) == 1 and len(lines[chosen[0]]) > params.max_chars:  # one line longer than a snippet
        line = lines[chosen[0]]
        lines[chosen[0]] = _clip(line, highlight_spans(line, stems), params.max_chars)
    headers = table_header_rows([text for _, text in numbered])
    for position in list(lines):
        header = headers.get(position)
        if header is not None and header not in lines:
            lines[header] = numbered[header][1].strip()
        # A line that ends with a colon ("- Types:") introduces the lines after it: it comes with the first
        # of them, as a table row comes with its header (alone it answers nothing).
        if lines[position].endswith(":"):
            follower = _next_content_line(numbered, position)
            if follower is not None and follower not in lines and numbered[follower][0] not in exclude:
                line = numbered[follower][1].strip()
                lines[follower] = _clip(line, highlight_spans(line, stems), params.max_chars)
    order = sorted(lines)
    text = "\n".join(lines[p] for p in order)
    numbers = tuple(numbered[p][0] for p in order)
    top = ranked[0][0]
    snippet = Snippet(text, numbers[0], numbers[-1], highlight_spans(text, stems), numbers)
    return AnsweredSnippet(snippet, numbered[top][0], dense[top] if top < len(dense) else None)


def _next_content_line(numbered: Sequence[tuple[int, str]], position: int) -> int | None:
    """The position of the first content line after ``position`` in a chunk's numbered lines, if any."""
    for later in range(position + 1, len(numbered)):
        if is_content_line(numbered[later][1]):
            return later
    return None


def answer_location(hit: Hit) -> int:
    """The note line to point at for a hit: its answer line, else its snippet's first line."""
    return hit.answer_line if hit.answer_line is not None else hit.snippet.start_line


def gaps_before(chunk: Chunk, snippet: Snippet) -> tuple[bool, ...]:
    """One flag per line of ``snippet.text``: were lines of the chunk left out just before it?

    Renderers show a "…" line there; the snippet text itself stays the notes' own words.
    Blank lines, headings and table delimiter rows do not count as left out.
    """
    count = snippet.text.count("\n") + 1
    if len(snippet.line_numbers) != count:
        return (False,) * count
    content = [number for number, line in chunk.numbered_lines() if is_content_line(line)]
    flags = [False]
    for before, after in zip(snippet.line_numbers, snippet.line_numbers[1:]):
        flags.append(any(before < number < after for number in content))
    return tuple(flags)
