"""Pick the lines of a chunk that answer a question, and mark the query terms."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .keyword import STOPWORDS, _stemmer
from .models import Chunk, Snippet, Span

MAX_SNIPPET_CHARS = 400
_WORD_SPAN = re.compile(r"\w+(?:[.'’]\w+)*", re.UNICODE)


def is_content_line(line: str) -> bool:
    """A line worth showing: not blank, not a heading, not a table delimiter row."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return False
    return bool(stripped.strip("|-: \t"))


def query_stems(query: str) -> set[str]:
    words = [w.lower() for w in _WORD_SPAN.findall(query)]
    kept = [w for w in words if w not in STOPWORDS]
    return set(_stemmer().stemWords(kept)) if kept else set()


def highlight_spans(text: str, stems: set[str]) -> tuple[Span, ...]:
    """Character spans of the words of ``text`` whose stem is a query stem."""
    if not stems:
        return ()
    matches = list(_WORD_SPAN.finditer(text))
    if not matches:
        return ()
    word_stems = _stemmer().stemWords([m.group(0).lower() for m in matches])
    return tuple(Span(m.start(), m.end()) for m, stem in zip(matches, word_stems) if stem in stems)


def lexical_overlap(line: str, stems: set[str]) -> float:
    """Share of the query's stems that occur in ``line``."""
    if not stems:
        return 0.0
    words = [w.lower() for w in _WORD_SPAN.findall(line)]
    found = set(_stemmer().stemWords(words)) if words else set()
    return len(stems & found) / len(stems)


@dataclass(frozen=True)
class SnippetParams:
    dense_weight: float = 1.0
    lexical_weight: float = 0.3
    #: A neighbouring line joins the snippet when it scores at least this share of the best line.
    keep_ratio: float = 0.8
    max_lines: int = 3
    max_chars: int = MAX_SNIPPET_CHARS


def _clip(text: str, spans: tuple[Span, ...], limit: int) -> str:
    """Cut one over-long line to ``limit`` characters around its first query term."""
    if len(text) <= limit:
        return text
    centre = spans[0].start if spans else 0
    start = max(0, min(centre - limit // 3, len(text) - (limit - 2)))
    end = start + limit - 2
    head = "…" if start > 0 else ""
    tail = "…" if end < len(text) else ""
    return head + text[start:end].strip() + tail


def make_snippet(
    chunk: Chunk,
    line_scores: Sequence[float | None],
    stems: set[str],
    params: SnippetParams = SnippetParams(),
) -> Snippet:
    """The best few consecutive lines of ``chunk`` for the question.

    ``line_scores`` has one entry per line of ``chunk.text``: the cosine of the
    line's vector with the question, or None where there is none.
    """
    numbered = chunk.numbered_lines()
    candidates: list[tuple[int, float]] = []
    for position, ((_, line), dense) in enumerate(zip(numbered, line_scores)):
        if not is_content_line(line):
            continue
        score = params.dense_weight * (dense or 0.0) + params.lexical_weight * lexical_overlap(line, stems)
        candidates.append((position, score))
    if not candidates:
        text = chunk.text[: params.max_chars]
        return Snippet(text, chunk.start_line, chunk.start_line, highlight_spans(text, stems))
    scores = dict(candidates)
    best_position, best = max(candidates, key=lambda item: item[1])
    chosen = [best_position]
    size = len(numbered[best_position][1].strip())
    threshold = best * params.keep_ratio if best > 0 else best
    low, high = best_position, best_position
    while len(chosen) < params.max_lines:
        options = [p for p in (low - 1, high + 1) if p in scores and scores[p] >= threshold]
        options = [p for p in options if size + 1 + len(numbered[p][1].strip()) <= params.max_chars]
        if not options:
            # Skip over blank or heading lines between neighbours.
            break
        pick = max(options, key=lambda p: scores[p])
        chosen.append(pick)
        size += 1 + len(numbered[pick][1].strip())
        low, high = min(low, pick), max(high, pick)
    chosen.sort()
    lines = [numbered[p][1].strip() for p in chosen]
    text = "\n".join(lines)
    if len(text) > params.max_chars:
        text = _clip(text, highlight_spans(text, stems), params.max_chars)
    return Snippet(text, numbered[chosen[0]][0], numbered[chosen[-1]][0], highlight_spans(text, stems))
