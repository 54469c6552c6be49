"""A generated vault of many short notes through `notes-qa` itself: index, cold and warm `ask`, memory.

Usage: python benchmarks/vault_scale.py [--notes 100000] [--encoder int8|fp32] [--work DIR]
       [--runs 5] [--questions 50] [--dataset ../shared/datasets/scifact] [--out FILE]

How the vault is made (deterministic, seed 7): the SciFact abstracts are cut into sentences; note
``i`` goes to folder ``f{i // 1000:03d}/`` as ``n{i:06d}.md`` with a ``# `` title (the first words of
one abstract's title) and one paragraph of 1-3 consecutive sentences of a random abstract, so
notes are short, real English, and near-duplicates happen as they do in a vault. The questions are
the first ``--questions`` SciFact test queries.

Measured, each in a new process (medians of ``--runs``): the full build (once: it takes minutes),
a one-note edit then ``index``, ``index`` with nothing changed, a cold ``ask`` (process start to
printed answer) on the vault and on the bundled notes (same run, for the ratio), the peak RSS of
``ask``; and the warm per-question time (the ``seconds`` of each answer of one ``ask --batch``,
first answer left out).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from child import default_scifact, measured  # noqa: E402
from machine import machine_facts  # noqa: E402


def sentences(dataset: Path) -> tuple[list[list[str]], list[str]]:
    """Each abstract's sentences, and the titles."""
    abstracts: list[list[str]] = []
    titles: list[str] = []
    with (dataset / "corpus.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                doc = json.loads(line)
                parts = [s.strip() for s in re.split(r"(?<=[.!?])\s+", str(doc.get("text") or "")) if s.strip()]
                if parts:
                    abstracts.append(parts)
                    titles.append(" ".join(str(doc.get("title") or "note").split()))
    return abstracts, titles


def write_vault(dataset: Path, folder: Path, count: int) -> None:
    abstracts, titles = sentences(dataset)
    rng = random.Random(7)
    for i in range(count):
        which = rng.randrange(len(abstracts))
        parts = abstracts[which]
        start = rng.randrange(len(parts))
        body = " ".join(parts[start : start + rng.randint(1, 3)])
        title = " ".join(titles[which].split()[: rng.randint(3, 8)])
        path = folder / f"f{i // 1000:03d}" / f"n{i:06d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {title}\n\n{body}\n", encoding="utf-8")


def notes_qa(args: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in MB, what it printed) of ``notes-qa ARGS`` in a new process."""
    run = measured([sys.executable, "-m", "notes_qa_cli", *args], env=env, cwd=ROOT, output=True)
    return run.seconds, run.rss_kb // 1024, run.output


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, default=default_scifact())
    parser.add_argument("--notes", type=int, default=100_000)
    parser.add_argument("--encoder", choices=("fp32", "int8"), default="int8")
    parser.add_argument("--work", type=Path, default=None, help="keep the vault and index here (re-runs skip the build)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "vault_scale.json")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="vault-") as tmp:
        work = args.work or Path(tmp)
        vault, index = work / "vault", work / "index"
        env = dict(os.environ, NOTES_QA_CORPUS=str(vault), NOTES_QA_INDEX=str(index), HF_HUB_OFFLINE="1")
        bundled = dict(os.environ, NOTES_QA_CORPUS=str(ROOT / "corpus"), NOTES_QA_INDEX=str(work / "bundled-index"),
                       HF_HUB_OFFLINE="1")
        if not vault.is_dir():
            write_vault(args.dataset, vault, args.notes)
        build_s = None
        build_rss = None
        if not (index / "current").exists():
            build_s, build_rss, out = notes_qa(["index", "--encoder", args.encoder], env)
            print(out.strip(), file=sys.stderr)
        notes_qa(["index", "--encoder", args.encoder], bundled)
        note = vault / "f000" / "n000000.md"
        original = note.read_text(encoding="utf-8")
        refresh, unchanged = [], []
        for i in range(args.runs):
            note.write_text(original.rstrip("\n") + f" Edited {i}.\n", encoding="utf-8")
            refresh.append(notes_qa(["index"], env)[0])
            unchanged.append(notes_qa(["index"], env)[0])
        note.write_text(original, encoding="utf-8")
        notes_qa(["index"], env)
        size_mb = sum(p.stat().st_size for p in (index / "current").resolve().iterdir()) / 1e6
        data = [json.loads(line) for line in (args.dataset / "queries.jsonl").open(encoding="utf-8") if line.strip()]
        questions = [str(q["text"]) for q in data][: args.questions]
        cold_vault, cold_bundled, rss = [], [], []
        for i in range(args.runs):
            question = questions[i % len(questions)]
            seconds, peak, _ = notes_qa(["ask", "--json", "-k", "5", question], env)
            cold_vault.append(seconds)
            rss.append(peak)
            cold_bundled.append(notes_qa(["ask", "--json", "-k", "5", question], bundled)[0])
        batch = work / "questions.txt"
        batch.write_text("\n".join(questions) + "\n", encoding="utf-8")
        _, batch_rss, out = notes_qa(["ask", "--json", "-k", "5", "--no-build", "--batch", str(batch)], env)
        warm = sorted(json.loads(line)["seconds"] * 1000 for line in out.splitlines()[1:] if line.strip())
    payload = {
        "benchmark": "vault_scale",
        "command": "python benchmarks/vault_scale.py " + " ".join(sys.argv[1:]),
        "notes": args.notes,
        "encoder": args.encoder,
        "full_index_s": None if build_s is None else round(build_s, 1),
        "full_index_peak_rss_mb": build_rss,
        "index_size_mb": round(size_mb, 1),
        "one_note_edit_index_s_median": round(statistics.median(refresh), 2),
        "no_change_index_s_median": round(statistics.median(unchanged), 2),
        "cold_ask_s_median": round(statistics.median(cold_vault), 3),
        "cold_ask_bundled_s_median": round(statistics.median(cold_bundled), 3),
        "cold_ask_ratio_vs_bundled": round(statistics.median(cold_vault) / statistics.median(cold_bundled), 2),
        "ask_peak_rss_mb_median": int(statistics.median(rss)),
        "batch_ask_peak_rss_mb": batch_rss,
        "warm_ms_p50": round(statistics.median(warm), 2),
        "warm_ms_p99": round(warm[min(len(warm) - 1, int(0.99 * len(warm)))], 2),
        "runs": args.runs,
        "raw": {"refresh_s": refresh, "no_change_s": unchanged, "cold_vault_s": cold_vault,
                "cold_bundled_s": cold_bundled, "ask_rss_mb": rss},
        "load_average_before_after": [load_before, os.getloadavg()],
        "machine": machine_facts(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in payload.items() if k not in ("raw", "machine")}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
