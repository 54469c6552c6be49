"""Standard IR metrics, defined as trec_eval / pytrec_eval define them.

``ranking`` is a list of document ids, best first; ``qrels`` maps a relevant
document id to its graded relevance (> 0). Checked against ir-measures
(pytrec_eval) in the tests.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def hit_at(ranking: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    return 1.0 if any(qrels.get(d, 0) > 0 for d in ranking[:k]) else 0.0


def mrr_at(ranking: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    for position, doc in enumerate(ranking[:k], start=1):
        if qrels.get(doc, 0) > 0:
            return 1.0 / position
    return 0.0


def ndcg_at(ranking: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """nDCG with linear gains (trec_eval's ndcg_cut): gain = relevance grade."""
    dcg = sum(qrels.get(doc, 0) / math.log2(position + 1) for position, doc in enumerate(ranking[:k], start=1))
    ideal = sorted((g for g in qrels.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(position + 1) for position, g in enumerate(ideal, start=1))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranking: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    relevant = {d for d, g in qrels.items() if g > 0}
    if not relevant:
        return 0.0
    return len(relevant & set(ranking[:k])) / len(relevant)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), q in [0, 100]."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0
