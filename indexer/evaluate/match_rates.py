"""How often the confidence flag says good, weak or none, on answerable and off-topic questions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..confidence import MATCHES
from .notes_eval import QuestionOutcome
from .questions import Question


def match_rates(
    outcomes: Sequence[QuestionOutcome], questions: Sequence[Question], relevant_counts: Mapping[str, int]
) -> dict[str, dict[str, float]]:
    """Share of each flag per group of questions.

    ``answerable``: questions with evidence found in the notes; ``offtopic``:
    questions marked ``"expect": "none"``. A group with no questions is left out.
    Each group holds ``questions`` (a count) and the share of good, weak and none.
    """
    expect = {q.id: q.expect for q in questions}
    groups: dict[str, list[str | None]] = {"answerable": [], "offtopic": []}
    for outcome in outcomes:
        if expect.get(outcome.id) == "none":
            groups["offtopic"].append(outcome.match)
        elif relevant_counts.get(outcome.id, 0) > 0:
            groups["answerable"].append(outcome.match)
    return {
        name: {"questions": float(len(flags)), **{m: round(flags.count(m) / len(flags), 6) for m in MATCHES}}
        for name, flags in groups.items()
        if flags
    }
