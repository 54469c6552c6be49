"""SciFact through the product path: notes on disk, `notes-qa index`, `notes-qa ask --batch --json`.

Usage: python benchmarks/scifact_as_notes.py [--dataset ../shared/datasets/scifact] [--work DIR]
       [--mode hybrid] [--out benchmarks/results/scifact_as_notes.json]

Each document becomes a Markdown note ``<doc id>.md`` holding ``# title`` and the text; the
judged test queries are asked in one ``ask --batch --json -k 30`` process; each answer's hits
are mapped back to documents by file name (first hit of a document counts, later chunks of the
same document are dropped) and scored with nDCG@10 / Recall@100 / MRR@10 (the same metric
code as ``eval --beir``, checked against ir-measures). Unlike ``eval --beir`` (one vector per
document, as MTEB does), this runs what a user runs: the chunker, line vectors, snippets.
Indexing 5,183 notes takes several minutes; ``--work`` keeps the notes and index for a re-run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from child import default_scifact  # noqa: E402

from indexer.evaluate.beir import load_beir, score_runs  # noqa: E402


def write_notes(dataset: Path, folder: Path, limit: int | None = None) -> int:
    """One note per document (the first ``limit`` only, if given); returns how many were written."""
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    with (dataset / "corpus.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            if limit is not None and count >= limit:
                break
            doc = json.loads(line)
            title = " ".join(str(doc.get("title") or "").split()) or str(doc["_id"])
            text = str(doc.get("text") or "").strip()
            (folder / f"{doc['_id']}.md").write_text(f"# {title}\n\n{text}\n", encoding="utf-8")
            count += 1
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, default=default_scifact())
    parser.add_argument("--work", type=Path, default=None, help="folder for the notes and index (default: a temp dir)")
    parser.add_argument("--mode", default="hybrid", choices=("hybrid", "dense", "keyword"))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "scifact_as_notes.json")
    args = parser.parse_args()

    data = load_beir(args.dataset, "test")
    cli = [str(Path(sys.executable).with_name("notes-qa"))]
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="scifact-notes-") as tmp:
        work = args.work or Path(tmp)
        notes, index = work / "notes", work / "index"
        if not notes.is_dir():
            write_notes(args.dataset, notes)
        started = time.perf_counter()
        subprocess.run([*cli, "index", "--corpus", str(notes), "--index", str(index)], check=True, env=env)
        index_seconds = time.perf_counter() - started
        qids = sorted(data.qrels)
        batch = work / "queries.jsonl"
        batch.write_text("".join(json.dumps({"question": data.queries[q]}) + "\n" for q in qids), encoding="utf-8")
        started = time.perf_counter()
        answer = subprocess.run(
            [*cli, "ask", "--corpus", str(notes), "--index", str(index), "--no-build", "--json", "-k", "30",
             "--mode", args.mode, "--batch", str(batch)],
            check=True, env=env, capture_output=True, text=True,
        )
        ask_seconds = time.perf_counter() - started
    answers = [json.loads(line) for line in answer.stdout.splitlines() if line.strip()]
    if len(answers) != len(qids):
        raise SystemExit(f"expected {len(qids)} answers, got {len(answers)}")
    runs: dict[str, list[str]] = {}
    for qid, result in zip(qids, answers):
        ranking: list[str] = []
        for hit in result["results"]:
            doc = Path(hit["path"]).stem
            if doc not in ranking:
                ranking.append(doc)
        runs[qid] = ranking
    metrics = score_runs(runs, data.qrels)
    payload = {
        "dataset": str(args.dataset),
        "documents": len(data.doc_ids),
        "queries": len(qids),
        "mode": args.mode,
        "metrics": metrics,
        "note": "recall@100 is over at most 30 hits (fewer distinct documents), so it is a lower bound",
        "index_seconds": round(index_seconds, 1),
        "ask_seconds": round(ask_seconds, 1),
        "command": "python benchmarks/scifact_as_notes.py",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(payload))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
