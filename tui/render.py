"""Turn hits into styled, literal Textual ``Content``.

Note text is never parsed as markup: every string from a note goes through
``safe_text`` (control characters become visible placeholders) and then into
``Content(...)``, which is literal text. Styles are added by character range,
and name theme variables (``$accent``...), so they follow light and dark themes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.content import Content

from indexer.confidence import bar_fraction
from indexer.safe_text import safe_text
from indexer.snippets import answer_location, gaps_before

from .visuals import Hanging

if TYPE_CHECKING:
    from indexer.models import Hit, Snippet, Span

TERM_STYLE = "bold $text-accent"
HEADING_STYLE = "bold"
LOCATION_STYLE = "dim"
BAR_STYLE = "$accent"
BAR_TRACK_STYLE = "on $panel"
ANSWER_LINE_STYLE = "on $accent-muted"
ANSWER_MARK_STYLE = "bold $accent"
#: The line that best answers the question, in the results list and the preview.
BEST_LINE_STYLE = "bold"
BEST_MARK = "›"
GAP_STYLE = "dim"
BAR_CELLS = 8
_EIGHTHS = " ▏▎▍▌▋▊▉█"
TAB = "    "


def _visible(ch: str) -> str:
    return TAB if ch == "\t" else safe_text(ch, keep_newlines=False)


def literal(text: str, spans: Iterable[tuple[int, int]] = (), style: str = TERM_STYLE) -> Content:
    """One line of note text as literal Content, with ``spans`` (offsets in
    ``text``) styled; the offsets are moved to match the made-safe text."""
    spans = list(spans)
    safe = safe_text(text, keep_newlines=False).replace("\t", TAB)
    if safe == text:
        content = Content(safe)
        for start, end in spans:
            content = content.stylize(style, start, end)
        return content
    offsets = [0]
    pieces = []
    for ch in text:
        piece = _visible(ch)
        pieces.append(piece)
        offsets.append(offsets[-1] + len(piece))
    content = Content("".join(pieces))
    for start, end in spans:
        start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
        content = content.stylize(style, offsets[start], offsets[end])
    return content


def line_spans(text: str, highlights: Sequence[Span]) -> list[tuple[str, list[tuple[int, int]]]]:
    """Split ``text`` into lines, each with the highlight spans that fall in it (line offsets)."""
    out: list[tuple[str, list[tuple[int, int]]]] = []
    offset = 0
    for line in text.split("\n"):
        end = offset + len(line)
        spans = [(max(s.start, offset) - offset, min(s.end, end) - offset) for s in highlights if s.start < end and s.end > offset]
        out.append((line, spans))
        offset = end + 1
    return out


def score_bar(fraction: float, cells: int = BAR_CELLS) -> Content:
    """A bar of ``cells`` cells filled to ``fraction`` (0..1), in eighths of a cell."""
    fraction = max(0.0, min(1.0, fraction))
    eighths = round(fraction * cells * 8)
    full, part = divmod(eighths, 8)
    filled = "█" * full + (_EIGHTHS[part] if part else "")
    bar = Content(filled).stylize(BAR_STYLE)
    track = Content(" " * (cells - len(filled))).stylize(BAR_TRACK_STYLE)
    return bar + track


def format_score(score: float | None) -> str:
    return " –  " if score is None else f"{score:4.2f}"


def location(hit: Hit) -> str:
    return f"{hit.chunk.path}:{answer_location(hit)}"


#: In the results list, at most this many snippet lines come before the answer line
#: (the rest become "…"), so that the answer shows on a small screen too.
LINES_BEFORE_ANSWER = 1


def snippet_rows(hit: Hit) -> list[Content]:
    """The snippet for the results list: the answer line marked, "…" where lines are left out."""
    pieces = line_spans(hit.snippet.text, hit.snippet.highlights)
    numbers = snippet_line_numbers(hit.snippet)
    gaps = list(gaps_before(hit.chunk, hit.snippet))
    best = numbers.index(hit.answer_line) if hit.answer_line in numbers else 0
    first = max(0, best - LINES_BEFORE_ANSWER)
    if first > 0:
        gaps[first] = True
    rows: list[Content] = []
    for index in range(first, len(pieces)):
        if gaps[index]:
            rows.append(Content("…").stylize(GAP_STYLE))
        line, spans = pieces[index]
        if index == best:
            rows.append(Content.assemble(Content(BEST_MARK + " ").stylize(ANSWER_MARK_STYLE),
                                         literal(line, spans).stylize_before(BEST_LINE_STYLE)))
        else:
            rows.append(literal(line, spans))
    return rows


def hit_prompt(hit: Hit) -> Hanging:
    """A result row: rank, score bar and score, heading path; then, indented, file:line and the snippet.

    The bar and the number are the answer line's cosine with the question, on
    one scale for every question (``indexer.confidence.bar_fraction``): a full
    bar at rank 1 means a close match, not just the best of poor ones.
    """
    heading = literal(hit.chunk.heading_path or "(no heading)").stylize(HEADING_STYLE)
    head = Content.assemble(
        Content(f"{hit.rank:>2} "), score_bar(bar_fraction(hit.answer_score)),
        Content(" " + format_score(hit.answer_score) + "  "), heading,
    )
    rows = [literal(location(hit)).stylize(LOCATION_STYLE), *snippet_rows(hit)]
    return Hanging(head, Content("\n").join(rows), indent=3)


@dataclass(frozen=True)
class Preview:
    content: Content
    #: Rows (0-based, before wrapping) of the first and last answering lines.
    answer_rows: tuple[int, int]
    #: Row of the line that best answers the question.
    best_row: int = 0


def snippet_line_numbers(snippet: Snippet) -> tuple[int, ...]:
    """The note line of each line of the snippet (consecutive from start_line if not recorded)."""
    count = snippet.text.count("\n") + 1
    if len(snippet.line_numbers) == count:
        return snippet.line_numbers
    return tuple(range(snippet.start_line, snippet.start_line + count))


def _answer_spans(hit: Hit) -> dict[int, list[tuple[int, int]]]:
    """The answering lines (note line numbers), each with the query-term spans moved onto the chunk line."""
    chunk_lines = dict(hit.chunk.numbered_lines())
    found: dict[int, list[tuple[int, int]]] = {}
    pieces = line_spans(hit.snippet.text, hit.snippet.highlights)
    for number, (snippet_line, spans) in zip(snippet_line_numbers(hit.snippet), pieces):
        at = chunk_lines.get(number, "").find(snippet_line) if snippet_line else -1
        found[number] = [(a + at, b + at) for a, b in spans] if at >= 0 else []
    return found


def preview(hit: Hit) -> Preview:
    """The whole chunk under its heading path, numbered, the answering lines marked."""
    chunk = hit.chunk
    rows = [
        literal(chunk.heading_path or "(no heading)").stylize(HEADING_STYLE),
        literal(f"{chunk.path}:{chunk.start_line}-{chunk.end_line}").stylize(LOCATION_STYLE),
        Content(""),
    ]
    numbered = chunk.numbered_lines()
    width = len(str(max((n for n, _ in numbered), default=1)))
    terms = _answer_spans(hit)
    answering_rows = []
    best_row = 0
    for number, text in numbered:
        answering = number in terms
        best = answering and number == hit.answer_line
        if answering:
            answering_rows.append(len(rows))
        if best:
            best_row = len(rows)
        mark = Content(BEST_MARK if best else "▌" if answering else " ")
        if answering:
            mark = mark.stylize(ANSWER_MARK_STYLE)
        gutter = Content(f"{number:>{width}} │ ").stylize("bold" if answering else LOCATION_STYLE)
        body = literal(text, terms.get(number, ()))
        if answering:
            body = body.stylize_before(ANSWER_LINE_STYLE)
        if best:
            body = body.stylize_before(BEST_LINE_STYLE)
        rows.append(Content.assemble(mark, gutter, body))
    first, last = (answering_rows[0], answering_rows[-1]) if answering_rows else (0, 0)
    return Preview(Content("\n").join(rows), (first, last), best_row or first)
