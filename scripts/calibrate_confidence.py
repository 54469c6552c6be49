"""Measure the signals behind ``ask``'s "match" flag and the flag rates of its thresholds.

Usage: python scripts/calibrate_confidence.py [--aws QUESTIONS.jsonl] [--grid]

Runs every question of the own set (eval/questions.jsonl, the answerable ones:
evidence found in the index) and of the off-topic set (eval/offtopic.jsonl)
through the index under ./index (built from ./corpus if missing), hybrid, k=10.
Prints the distribution of the combined strength per set and, for each half
(odd and even questions), the share flagged good / weak / none with the
thresholds in ``indexer/confidence.py``. ``--grid`` also shows the thresholds
the rule picks on each half (none: below the own set's 2nd percentile; good:
from the off-topic maximum), for several weights of term coverage. ``--aws`` adds a third set (on-topic exam questions).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexer import confidence  # noqa: E402
from indexer.evaluate.notes_eval import relevant_chunk_counts  # noqa: E402
from indexer.evaluate.questions import Question, load_questions  # noqa: E402
from indexer.search import Searcher  # noqa: E402
from indexer.service import open_searcher  # noqa: E402
from indexer.settings import Settings  # noqa: E402


def signals(searcher: Searcher, questions: Sequence[Question]) -> list[confidence.MatchSignals]:
    out = []
    for q in questions:
        result = searcher.search(q.question, k=10, mode="hybrid")
        out.append(confidence.hit_signals(searcher.index.keyword, result.query, result.hits))
    return out


def rates(values: Sequence[confidence.MatchSignals]) -> str:
    flags = [confidence.judge(v) for v in values]
    return "  ".join(f"{m} {flags.count(m) / max(len(flags), 1):6.1%}" for m in confidence.MATCHES)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--aws", type=Path, help="an on-topic question set with accept_headings (JSONL)")
    parser.add_argument("--grid", action="store_true", help="show what the thresholds are read from, per half and weight")
    args = parser.parse_args()
    settings = Settings.from_env().with_overrides(corpus_dir=ROOT / "corpus", index_dir=ROOT / "index")
    searcher = open_searcher(settings).searcher
    own = load_questions(ROOT / "eval" / "questions.jsonl")
    counts = relevant_chunk_counts(searcher, own)
    own = [q for q in own if counts[q.id] > 0]
    sets = {"own (answerable)": signals(searcher, own),
            "off-topic": signals(searcher, load_questions(ROOT / "eval" / "offtopic.jsonl"))}
    if args.aws:
        import json

        rows = [json.loads(line) for line in args.aws.read_text(encoding="utf-8").splitlines() if line.strip()]
        sets["aws dev (on-topic)"] = signals(searcher, [Question(r["id"], r["question"], ("-",)) for r in rows])
    print(f"weights: strength = line cosine + {confidence.COVERAGE_WEIGHT} x term coverage; "
          f"good >= {confidence.GOOD_AT}, none < {confidence.NONE_BELOW}")
    for name, values in sets.items():
        strength = np.array([v.strength for v in values])
        cuts = " ".join(f"p{p}={np.percentile(strength, p):.3f}" for p in (0, 2, 5, 50, 95, 98, 100))
        print(f"\n{name}: {len(values)} questions; strength {cuts}")
        print(f"  all   {rates(values)}")
        print(f"  odd   {rates(values[0::2])}")
        print(f"  even  {rates(values[1::2])}")
    if args.grid:
        own_s = [v for v in sets["own (answerable)"]]
        off_s = [v for v in sets["off-topic"]]
        print("\nper half: the own set's 2nd percentile (NONE_BELOW is it, rounded down) and the off-topic")
        print("maximum (GOOD_AT is it, rounded), for weights of term coverage; AUC = P(own > off-topic)")
        for weight in (0.0, 0.1, 0.2, 0.25, 0.3, 0.4):
            for half, cut in (("odd", slice(0, None, 2)), ("even", slice(1, None, 2))):
                o = np.array([(v.line_cosine or 0.0) + weight * v.term_coverage for v in own_s[cut]])
                f = np.array([(v.line_cosine or 0.0) + weight * v.term_coverage for v in off_s[cut]])
                auc = float((o[:, None] > f[None, :]).mean())
                print(f"  w={weight:<4} {half:4}  own p2 {np.percentile(o, 2):.3f}  off-topic max {f.max():.3f}"
                      f"  p95 {np.percentile(f, 95):.3f}  AUC {auc:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
