"""Our metric code agrees with the reference implementation (ir-measures / pytrec_eval)."""

from __future__ import annotations

import random

import ir_measures
import pytest
from ir_measures import RR, R, nDCG

from indexer.evaluate.metrics import hit_at, mrr_at, ndcg_at, percentile, recall_at


def random_case(seed: int) -> tuple[dict[str, dict[str, int]], dict[str, list[str]]]:
    rng = random.Random(seed)
    docs = [f"d{i}" for i in range(60)]
    qrels: dict[str, dict[str, int]] = {}
    runs: dict[str, list[str]] = {}
    for q in range(25):
        qid = f"q{q}"
        relevant = rng.sample(docs, rng.randint(1, 6))
        qrels[qid] = {d: rng.choice([1, 1, 2, 3]) for d in relevant}
        runs[qid] = rng.sample(docs, rng.randint(5, 40))
    return qrels, runs


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_ndcg_mrr_recall_match_ir_measures(seed: int) -> None:
    qrels, runs = random_case(seed)
    # distinct, descending scores so the reference keeps our order (trec_eval breaks ties by doc id)
    run_scores = {q: {d: float(len(r) - i) for i, d in enumerate(r)} for q, r in runs.items()}
    reference = ir_measures.iter_calc([nDCG @ 10, RR @ 10, R @ 100], qrels, run_scores)
    expected: dict[tuple[str, str], float] = {(m.query_id, str(m.measure)): m.value for m in reference}
    for qid in qrels:
        assert ndcg_at(runs[qid], qrels[qid], 10) == pytest.approx(expected[(qid, "nDCG@10")], abs=1e-6)
        assert mrr_at(runs[qid], qrels[qid], 10) == pytest.approx(expected[(qid, "RR@10")], abs=1e-6)
        assert recall_at(runs[qid], qrels[qid], 100) == pytest.approx(expected[(qid, "R@100")], abs=1e-6)


def test_hit_and_percentile() -> None:
    assert hit_at(["a", "b", "c"], {"c": 1}, 2) == 0.0
    assert hit_at(["a", "b", "c"], {"c": 1}, 3) == 1.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert percentile([5.0], 95) == 5.0
    assert ndcg_at(["x"], {}, 10) == 0.0


def test_percentile_is_numpys_linear_default() -> None:
    # The one percentile helper: eval's latency summary and the benchmarks all use it.
    import random

    import numpy as np

    values = [random.Random(7).random() for _ in range(3)] + [float(i * i) for i in range(97)]
    for q in (0, 1, 50, 90, 95, 99, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)), rel=1e-12)
    assert percentile([], 50) == 0.0
