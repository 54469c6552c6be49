"""Score a searcher on a question set with expected evidence.

A hit is relevant when its text (chunk level) or its snippet (snippet level)
contains one of the question's evidence strings, compared after folding case,
white space and table pipes, so the set survives any re-chunking; or, for a
question with ``accept_headings``, when its section (the last element of its
heading path) is one of them, at both levels.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..search import Searcher
from .metrics import hit_at, mean, mrr_at, ndcg_at, percentile
from .questions import Question, fold

LEVELS = ("chunk", "snippet")
CUTS = (1, 3, 5, 10)


@dataclass(frozen=True)
class QuestionOutcome:
    id: str
    question: str
    style: str | None
    mode: str
    chunk_rank: int | None  # 1-based rank of the first relevant chunk
    snippet_rank: int | None
    seconds: float
    top: tuple[str, ...]  # "path:line" of the hits
    #: 1-based ranks of every relevant hit (nDCG counts them all)
    chunk_ranks: tuple[int, ...] = ()
    snippet_ranks: tuple[int, ...] = ()
    match: str | None = None  # the search's confidence flag: good, weak or none


@dataclass(frozen=True)
class ModeReport:
    """The scores of one mode (see :func:`summarize`); built once, whole."""

    mode: str
    metrics: dict[str, dict[str, float]]  # level -> metric -> value
    by_style: dict[str, dict[str, dict[str, float]]]  # style -> level (and "count") -> metric -> value
    latency_ms: dict[str, float]  # p50, p95


def _scores(outcomes: Sequence[QuestionOutcome], relevant_counts: dict[str, int], k: int) -> dict[str, dict[str, float]]:
    result: dict[str, dict[str, float]] = {}
    ranking = [f"r{i}" for i in range(1, k + 1)]
    for level in LEVELS:
        values: dict[str, list[float]] = {}
        for outcome in outcomes:
            ranks = outcome.chunk_ranks if level == "chunk" else outcome.snippet_ranks
            qrels = {f"r{rank}": 1 for rank in ranks}
            # nDCG's ideal list holds every relevant chunk of the index, found or not.
            missing = max(0, relevant_counts.get(outcome.id, 1) - len(ranks))
            qrels_ideal = dict(qrels, **{f"missing{j}": 1 for j in range(missing)})
            for cut in CUTS:
                values.setdefault(f"hit@{cut}", []).append(hit_at(ranking, qrels, cut))
            values.setdefault("mrr@10", []).append(mrr_at(ranking, qrels, 10))
            values.setdefault("ndcg@10", []).append(ndcg_at(ranking, qrels_ideal, 10))
        result[level] = {name: round(mean(v), 4) for name, v in values.items()}
    return result


def relevant_chunk_counts(searcher: Searcher, questions: Sequence[Question]) -> dict[str, int]:
    """How many chunks of the index answer each question (the size of nDCG's ideal list), inside its filter."""
    folded = [fold(c.text) for c in searcher.index.chunks]
    return {
        q.id: sum(
            1
            for chunk, text in zip(searcher.index.chunks, folded)
            if q.filters.allows(chunk) and (q.in_section(chunk) or any(e in text for e in q.folded_evidence()))
        )
        for q in questions
    }


def evaluate_mode(searcher: Searcher, questions: Sequence[Question], mode: str, k: int = 10) -> list[QuestionOutcome]:
    outcomes = []
    for question in questions:
        started = time.perf_counter()
        result = searcher.search(question.question, k=k, mode=mode, filters=question.filters)
        seconds = time.perf_counter() - started
        chunk_ranks = tuple(h.rank for h in result.hits if question.relevant(h.chunk, h.chunk.text))
        snippet_ranks = tuple(h.rank for h in result.hits if question.relevant(h.chunk, h.snippet.text))
        top = tuple(f"{h.chunk.path}:{h.snippet.start_line}" for h in result.hits)
        outcomes.append(
            QuestionOutcome(
                question.id,
                question.question,
                question.style,
                mode,
                chunk_ranks[0] if chunk_ranks else None,
                snippet_ranks[0] if snippet_ranks else None,
                seconds,
                top,
                chunk_ranks,
                snippet_ranks,
                match=result.match,
            )
        )
    return outcomes


def summarize(
    outcomes: Sequence[QuestionOutcome], relevant_counts: dict[str, int], mode: str, k: int = 10
) -> ModeReport:
    by_style: dict[str, dict[str, dict[str, float]]] = {}
    for style in sorted({o.style for o in outcomes if o.style}):
        of_style = [o for o in outcomes if o.style == style]
        by_style[style] = {**_scores(of_style, relevant_counts, k), "count": {"questions": float(len(of_style))}}
    latencies = [o.seconds * 1000 for o in outcomes]
    latency_ms = {"p50": round(percentile(latencies, 50), 3), "p95": round(percentile(latencies, 95), 3)}
    return ModeReport(mode, _scores(outcomes, relevant_counts, k), by_style, latency_ms)


def missing_evidence(searcher: Searcher, questions: Sequence[Question]) -> list[str]:
    """Warnings for questions whose evidence occurs in no chunk of the index."""
    counts = relevant_chunk_counts(searcher, questions)
    return [
        f"question {q.id}: {'no evidence string occurs in' if q.evidence else 'no accepted heading is a section of'} the notes"
        for q in questions
        if counts[q.id] == 0 and q.expect != "none"
    ]


def outcome_to_json(outcome: QuestionOutcome) -> dict[str, Any]:
    return {
        "id": outcome.id,
        "question": outcome.question,
        "style": outcome.style,
        "mode": outcome.mode,
        "chunk_rank": outcome.chunk_rank,
        "snippet_rank": outcome.snippet_rank,
        "ms": round(outcome.seconds * 1000, 3),
        "top": list(outcome.top),
        "match": outcome.match,
    }
