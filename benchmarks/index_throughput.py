"""Indexing throughput through `notes-qa index`: the first N SciFact abstracts written as notes.

Usage: python benchmarks/index_throughput.py [--notes 1500] [--runs 3] [--encoder fp32|int8]
       [--code DIR ...] [--dataset ../shared/datasets/scifact] [--out FILE]

Each ``--code`` folder is a checkout of notes-qa (default: this one); the first is the baseline.
Every run builds the index from nothing (``index --full`` into an empty folder) with each
checkout in turn (alternating, so a busy machine slows each alike), then appends one line to
one note and times the incremental ``index`` that follows. Reports per checkout the median
full-build seconds, notes per second, texts embedded, peak memory (the child's max RSS), the
median one-note refresh, and the ratio of each median to the baseline's.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from child import default_scifact, measured  # noqa: E402
from machine import machine_facts  # noqa: E402
from scifact_as_notes import write_notes  # noqa: E402


def timed(command: list[str], cwd: Path) -> tuple[float, int, str]:
    """Run ``command`` in ``cwd`` with that checkout first on the path: (seconds, peak RSS MB, stdout)."""
    run = measured(command, env=dict(os.environ, PYTHONPATH=str(cwd), HF_HUB_OFFLINE="1"), cwd=cwd, output=True)
    return run.seconds, run.rss_kb // 1024, run.output


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, default=default_scifact())
    parser.add_argument("--notes", type=int, default=1500, help="how many abstracts (0: all)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--encoder", choices=("fp32", "int8"), default="fp32")
    parser.add_argument("--code", type=Path, action="append", default=None, help="a notes-qa checkout (repeatable)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "index_throughput.json")
    args = parser.parse_args()
    codes = [c.resolve() for c in (args.code or [ROOT])]
    python = sys.executable
    before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="index-throughput-") as tmp:
        notes = Path(tmp) / "notes"
        written = write_notes(args.dataset, notes, limit=args.notes or None)
        edited = sorted(notes.glob("*.md"))[0]
        original = edited.read_text(encoding="utf-8")
        runs: dict[Path, list[dict[str, float]]] = {c: [] for c in codes}
        for run in range(args.runs):
            for code in codes:
                index = Path(tmp) / f"index-{codes.index(code)}"
                shutil.rmtree(index, ignore_errors=True)
                edited.write_text(original, encoding="utf-8")
                cli = [python, "-m", "notes_qa_cli", "index", "--corpus", str(notes), "--index", str(index)]
                seconds, rss, output = timed([*cli, "--full", "--encoder", args.encoder], code)
                embedded = re.search(r"\((\d+) texts embedded", output)
                edited.write_text(original.rstrip("\n") + " An added sentence about badgers.\n", encoding="utf-8")
                refresh, _, _ = timed(cli, code)
                runs[code].append({"full_s": seconds, "rss_mb": rss, "refresh_s": refresh,
                                   "embedded": float(embedded.group(1)) if embedded else -1.0})
                print(f"run {run + 1} {code.name}: full {seconds:.1f} s, {rss} MB, refresh {refresh:.2f} s",
                      file=sys.stderr)
        edited.write_text(original, encoding="utf-8")
    base = statistics.median(r["full_s"] for r in runs[codes[0]])
    base_refresh = statistics.median(r["refresh_s"] for r in runs[codes[0]])
    results = {}
    for code in codes:
        full = statistics.median(r["full_s"] for r in runs[code])
        refresh = statistics.median(r["refresh_s"] for r in runs[code])
        results[str(code)] = {
            "full_s_median": round(full, 1),
            "notes_per_s": round(written / full, 1),
            "full_ratio_vs_baseline": round(full / base, 3),
            "texts_embedded": int(runs[code][0]["embedded"]),
            "peak_rss_mb_median": int(statistics.median(r["rss_mb"] for r in runs[code])),
            "refresh_s_median": round(refresh, 2),
            "refresh_ratio_vs_baseline": round(refresh / base_refresh, 3),
            "full_s_runs": [round(r["full_s"], 1) for r in runs[code]],
        }
    payload = {
        "benchmark": "index_throughput",
        "command": "python benchmarks/index_throughput.py " + " ".join(sys.argv[1:]),
        "notes": written,
        "encoder": args.encoder,
        "runs": args.runs,
        "baseline": str(codes[0]),
        "results": results,
        "load_average_before_after": [before, os.getloadavg()],
        "machine": machine_facts(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
