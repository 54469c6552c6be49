"""Warm question latency with the vectors in FAISS files vs in Milvus Lite, on the bundled notes.

Usage: python benchmarks/bench_store.py [--rounds 3] [--out FILE]   (default FILE: benchmarks/results/store.json)

Builds two indexes of ./corpus through `notes-qa index` (one with `--store DIR/notes.db`, Milvus Lite),
opens both in one process as `ask` does (the store read from the manifest) with one ONNX query
encoder, and times every question of eval/questions.jsonl --rounds times, hybrid mode, k=10:
- ``ask_ms``: `Searcher.search` whole (embed, chunk search, BM25, fusion, snippets);
- ``store_ms``: the chunk store's own search for the question's vector (all 64 chunks ranked,
  as the searcher asks below 20,000 chunks).
FAISS and Milvus alternate question by question, so the machine's drift hits both alike. Reported:
the median (and p95) over all questions x rounds. The two must also rank the same chunks:
``same_top10`` counts questions whose top-10 hits (paths, lines) are equal, ``max_score_diff``
the largest score difference.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine_facts  # noqa: E402

from indexer.evaluate.metrics import percentile  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "store.json")
    args = parser.parse_args()

    from indexer.evaluate.questions import load_questions
    from indexer.service import open_searcher
    from indexer.settings import Settings

    questions = [q.question for q in load_questions(ROOT / "eval" / "questions.jsonl")]
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        env = {k: v for k, v in os.environ.items() if k != "NOTES_QA_STORE"}
        cli = [sys.executable, "-m", "notes_qa_cli"]
        stores = {"faiss": [], "milvus-lite": ["--store", f"{tmp}/notes.db"]}
        searchers = {}
        for name, extra in stores.items():
            index = Path(tmp) / name
            subprocess.run([*cli, "index", "--index", str(index), *extra], cwd=ROOT, env=env, check=True,
                           capture_output=True)
            settings = replace(Settings.from_env(), index_dir=index, corpus_dir=ROOT / "corpus")
            searchers[name] = open_searcher(settings, auto_build=False).searcher
        searchers["milvus-lite"].embedder = searchers["faiss"].embedder  # one encoder: the stores differ only
        vectors = {q: searchers["faiss"].embedder.embed_query(q) for q in questions}
        ask_ms: dict[str, list[float]] = {name: [] for name in stores}
        store_ms: dict[str, list[float]] = {name: [] for name in stores}
        same, worst = 0, 0.0
        for name in stores:  # warm up: first searches load collections and caches
            searchers[name].search(questions[0], k=10)
        for round_number in range(args.rounds):
            for q in questions:
                results = {}
                for name in stores:
                    searcher = searchers[name]
                    start = time.perf_counter()
                    results[name] = searcher.search(q, k=10)
                    ask_ms[name].append((time.perf_counter() - start) * 1000)
                    start = time.perf_counter()
                    searcher.chunk_vectors.search(vectors[q][None, :], searcher.size)
                    store_ms[name].append((time.perf_counter() - start) * 1000)
                if round_number == 0:
                    a, b = (results[n].hits for n in stores)
                    same += [(h.chunk.path, h.chunk.start_line) for h in a] == [
                        (h.chunk.path, h.chunk.start_line) for h in b]
                    worst = max([worst, *(abs(x.score - y.score) for x, y in zip(a, b))])

    def summary(values: list[float]) -> dict[str, float]:
        return {"median": round(statistics.median(values), 3), "p95": round(percentile(values, 95), 3),
                "n": len(values)}

    out = {
        "machine": machine_facts(),
        "questions": len(questions),
        "rounds": args.rounds,
        "chunks": searchers["faiss"].size,
        "ask_ms": {name: summary(v) for name, v in ask_ms.items()},
        "store_ms": {name: summary(v) for name, v in store_ms.items()},
        "same_top10": f"{same}/{len(questions)}",
        "max_score_diff": worst,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
