"""Do the notes answer a question at all? An absolute, calibrated judgement.

Ranking scores are relative: the best hit of any question, even "how do I bake
sourdough bread", gets the top score. The judgement here uses signals that mean
the same for every question instead:

- ``line_cosine``: the cosine between the question and the line that best
  answers it among the hits (the model's own, absolute similarity);
- ``term_coverage``: the IDF-weighted share of the question's content terms
  that occur anywhere in the notes (a term the notes never use weighs most).

They are combined as ``line_cosine + COVERAGE_WEIGHT * term_coverage`` and
compared with two thresholds. All constants were measured with
``python scripts/calibrate_confidence.py`` (README, "Answer quality").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .terms import terms

if TYPE_CHECKING:
    from .keyword import KeywordIndex
    from .models import Hit

GOOD = "good"
WEAK = "weak"
NONE = "none"
MATCHES = (GOOD, WEAK, NONE)

# Measured on the own set (216 answerable questions) and the off-topic set (62),
# each split into odd and even questions; all-MiniLM-L6-v2, fp32, hybrid, k=10.
#: Weight of term coverage against the line cosine. The separation of the two sets
#: (AUC) is flat from 0.1 to 0.3 on both halves (0.997-0.998), 0.993-0.995 with the
#: cosine alone (w=0): coverage catches "How do I cache a sourdough starter?".
COVERAGE_WEIGHT = 0.25
#: At or above: "good". The strongest off-topic question scores 0.661 (odd half)
#: and 0.702 (even: "How fast is a glacier moving in Greenland?"); rounded to 0.70.
#: 89% of the answerable own questions reach it (odd 88.9%, even 89.8%).
GOOD_AT = 0.70
#: Below: "none". The own set's 2nd percentile is 0.615 (odd) and 0.632 (even),
#: rounded down to 0.60; the off-topic set's 95th percentile is 0.55.
NONE_BELOW = 0.60


@dataclass(frozen=True)
class MatchSignals:
    """The absolute signals a judgement is made from."""

    #: Best answer-line cosine among the hits (None: no hit, or no line vectors).
    line_cosine: float | None
    #: IDF-weighted share (0..1) of the question's content terms found in the notes.
    term_coverage: float

    @property
    def strength(self) -> float:
        return (self.line_cosine or 0.0) + COVERAGE_WEIGHT * self.term_coverage


def judge(signals: MatchSignals) -> str:
    """"good", "weak" or "none" for a question with these signals."""
    if signals.line_cosine is None:
        return NONE
    if signals.strength >= GOOD_AT:
        return GOOD
    return WEAK if signals.strength >= NONE_BELOW else NONE


def term_coverage(keyword: KeywordIndex, query: str) -> float:
    """IDF-weighted share of the query's terms (stemmed, stop words out) that the notes contain.

    A term the notes lack gets the IDF of a term in no chunk, the largest there
    is. A question with no content terms at all counts as covered (1.0).
    """
    found = terms(query)
    if not found:
        return 1.0
    columns = len(keyword.indptr) - 1
    n = keyword.num_docs
    known = total = 0.0
    for term in found:
        column = keyword.vocab.get(term)
        df = int(keyword.indptr[column + 1] - keyword.indptr[column]) if column is not None and column < columns else 0
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        total += idf
        known += idf if df else 0.0
    return known / total if total > 0 else 1.0


def hit_signals(keyword: KeywordIndex, query: str, hits: Sequence[Hit]) -> MatchSignals:
    cosines = [h.answer_score for h in hits if h.answer_score is not None]
    return MatchSignals(max(cosines) if cosines else None, term_coverage(keyword, query))


def judge_hits(keyword: KeywordIndex, query: str, hits: Sequence[Hit]) -> str:
    """The judgement for ``query`` given the hits a search returned (none without hits)."""
    return judge(hit_signals(keyword, query, hits)) if hits else NONE


#: Score bars: a line cosine at or below BAR_FLOOR draws nothing, at BAR_CEIL a full bar.
BAR_FLOOR = 0.2
BAR_CEIL = 0.9


def bar_fraction(cosine: float | None) -> float:
    """How full a hit's score bar is, on one scale for every question (0..1)."""
    if cosine is None:
        return 0.0
    return max(0.0, min(1.0, (cosine - BAR_FLOOR) / (BAR_CEIL - BAR_FLOOR)))
