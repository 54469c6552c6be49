"""Sweep the fusion's two weights and print what each setting does to the own set and the AWS dev split.

Usage: python scripts/fusion_sweep.py [--aws QUESTIONS.jsonl] [--dense-weights 0.3,0.4,...]
       [--line-weights 0.5,0.7,0.9] [--json] [--corpus DIR] [--index DIR]

Runs the own set (eval/questions.jsonl, hybrid, snippet level) and the AWS practice-exam dev split
(``--aws``, default ../shared/datasets/aws-practice-dev/questions.jsonl, section level) through the
index under ./index (built from ./corpus if missing; ``--index``, ``--corpus``) with every pair of dense weight and line weight
(``FusionParams``), scored by ``eval``'s own code, and dense alone for each line weight. It shows the
trade-off behind issue 11's aims: the own set wants hit@1 >= 0.90, the dev split hit@1 >= 0.65,
which-service hit@1 >= 0.50, hit@5 >= 0.92 and hybrid >= dense. The last lines say which settings
meet the own-set aim and the best dev figures among them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexer.evaluate.notes_eval import evaluate_mode, relevant_chunk_counts, summarize  # noqa: E402
from indexer.evaluate.questions import Question, load_questions  # noqa: E402
from indexer.fusion import FusionParams  # noqa: E402
from indexer.search import Searcher  # noqa: E402
from indexer.service import open_searcher  # noqa: E402
from indexer.settings import Settings  # noqa: E402

OWN_HIT1 = 0.90  # issue 11's aim for the own set (hybrid, snippet hit@1)


def _floats(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text!r}") from None
    if not values or not all(0.0 <= v <= 1.0 for v in values):
        raise argparse.ArgumentTypeError(f"give weights between 0 and 1: {text!r}")
    return values


def _row(searcher: Searcher, own: Sequence[Question], dev: Sequence[Question], counts: dict[str, int],
         mode: str) -> dict[str, float]:
    """Own-set snippet figures (with odd and even halves) and dev-split section figures for one setting."""
    own_outcomes = evaluate_mode(searcher, own, mode)
    dev_outcomes = evaluate_mode(searcher, dev, mode)
    own_report = summarize(own_outcomes, counts, mode)
    dev_report = summarize(dev_outcomes, counts, mode)
    halves = [[o for i, o in enumerate(own_outcomes) if i % 2 == parity] for parity in (0, 1)]
    which = dev_report.by_style.get("which-service", {}).get("chunk", {})
    return {
        "own_hit@1": own_report.metrics["snippet"]["hit@1"],
        "own_odd": round(sum(o.snippet_rank == 1 for o in halves[0]) / max(1, len(halves[0])), 4),
        "own_even": round(sum(o.snippet_rank == 1 for o in halves[1]) / max(1, len(halves[1])), 4),
        "own_hit@5": own_report.metrics["snippet"]["hit@5"],
        "own_mrr@10": own_report.metrics["snippet"]["mrr@10"],
        "dev_hit@1": dev_report.metrics["chunk"]["hit@1"],
        "dev_hit@5": dev_report.metrics["chunk"]["hit@5"],
        "dev_mrr@10": dev_report.metrics["chunk"]["mrr@10"],
        "dev_which_hit@1": which.get("hit@1", 0.0),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--aws", type=Path, default=ROOT.parent / "shared" / "datasets" / "aws-practice-dev" / "questions.jsonl",
                        help="the AWS practice-exam dev split (JSONL with accept_headings)")
    parser.add_argument("--dense-weights", type=_floats, default=[0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 0.9])
    parser.add_argument("--line-weights", type=_floats, default=[0.5, 0.7, 0.9])
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus", help="the notes (default: ./corpus)")
    parser.add_argument("--index", type=Path, default=ROOT / "index", help="their index, built if missing (default: ./index)")
    args = parser.parse_args()
    settings = Settings.from_env().with_overrides(corpus_dir=args.corpus, index_dir=args.index)
    opened = open_searcher(settings).searcher
    own = load_questions(ROOT / "eval" / "questions.jsonl")
    dev = load_questions(args.aws)
    counts = relevant_chunk_counts(opened, [*own, *dev])
    rows: list[dict[str, Any]] = []
    for line_weight in args.line_weights:
        settings_tried = [("dense", None)] + [("hybrid", w) for w in args.dense_weights]
        for mode, dense_weight in settings_tried:
            fusion = replace(FusionParams(), line_weight=line_weight,
                             dense_weight=dense_weight if dense_weight is not None else FusionParams().dense_weight)
            searcher = Searcher(opened.index, opened.embedder, fusion=fusion)
            figures = _row(searcher, own, dev, counts, mode)
            rows.append({"mode": mode, "line_weight": line_weight, "dense_weight": dense_weight, **figures})
            if not args.json:
                weight = "-" if dense_weight is None else f"{dense_weight:.2f}"
                print(f"{mode:6} line {line_weight:.2f} dense {weight:>4}  own hit@1 {figures['own_hit@1']:.3f} "
                      f"({figures['own_odd']:.3f}/{figures['own_even']:.3f}) hit@5 {figures['own_hit@5']:.3f}  |  "
                      f"dev hit@1 {figures['dev_hit@1']:.3f} hit@5 {figures['dev_hit@5']:.3f} "
                      f"which-service hit@1 {figures['dev_which_hit@1']:.3f}", flush=True)
    hybrid = [r for r in rows if r["mode"] == "hybrid"]
    meeting = [r for r in hybrid if r["own_hit@1"] >= OWN_HIT1]
    summary = {
        "own_aim": OWN_HIT1,
        "settings_meeting_own_aim": [(r["line_weight"], r["dense_weight"]) for r in meeting],
        "best_dev_hit@1_among_them": max((r["dev_hit@1"] for r in meeting), default=None),
        "best_dev_hit@1_any_hybrid": max((r["dev_hit@1"] for r in hybrid), default=None),
        "best_dev_hit@1_dense": max((r["dev_hit@1"] for r in rows if r["mode"] == "dense"), default=None),
    }
    if args.json:
        print(json.dumps({"rows": rows, "summary": summary}, indent=2))
    else:
        print(f"\nhybrid settings with own hit@1 >= {OWN_HIT1}: {summary['settings_meeting_own_aim']} "
              f"(line weight, dense weight); best dev hit@1 among them {summary['best_dev_hit@1_among_them']}; "
              f"best dev hit@1 of any hybrid setting {summary['best_dev_hit@1_any_hybrid']}, "
              f"of dense alone {summary['best_dev_hit@1_dense']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
