"""Cold and warm question latency, and full / incremental index time, on the bundled notes.

Usage: python benchmarks/bench_query.py [--encoder fp32|int8] [--runs 7] [--warm-rounds 5] [--out FILE]
(default FILE: benchmarks/results/query.json, or query-int8.json with --encoder int8)

- cold ask: a new `notes-qa ask` process per run (index present), wall time to exit, median of --runs;
  baseline in the same run: a process that only imports sentence-transformers (what a torch query path
  would pay before its first vector).
- warm query: one process, every question of eval/questions.jsonl --warm-rounds times, hybrid mode,
  k=5 (embed + vector search + BM25 + fusion + snippets); the median over rounds of each round's
  p50/p95/p99. Baseline in the same run: query embedding by sentence-transformers (torch),
  alternating with the ONNX encoder in blocks of 24 questions.
- full index: `notes-qa index --full` (ONNX export already cached), median of 3.
- incremental index: append one line to one note, `notes-qa index` in a new process, median of --runs.
- peak memory (max RSS) of each kind of process, from resource.getrusage of the children.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from child import measured  # noqa: E402
from machine import machine_facts  # noqa: E402

from indexer.evaluate.metrics import percentile  # noqa: E402


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KB) of one child process."""
    run = measured(cmd, env=env)
    return run.seconds, run.rss_kb


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p95 and p99 (the one percentile helper, as eval's latency uses) and the count."""
    return {"p50": percentile(values, 50), "p95": percentile(values, 95), "p99": percentile(values, 99),
            "n": len(values)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--warm-rounds", type=int, default=5)
    parser.add_argument("--encoder", choices=("fp32", "int8"), default="fp32", help="the index's encoder")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.out is None:
        suffix = "" if args.encoder == "fp32" else f"-{args.encoder}"
        args.out = ROOT / "benchmarks" / "results" / f"query{suffix}.json"

    work = Path(tempfile.mkdtemp(prefix="notes-qa-bench-"))
    shutil.copytree(ROOT / "corpus", work / "corpus")
    cache = os.environ.get("NOTES_QA_CACHE") or str(work / "cache")
    env = dict(os.environ, NOTES_QA_CORPUS=str(work / "corpus"), NOTES_QA_INDEX=str(work / "index"),
               NOTES_QA_CACHE=cache, HF_HUB_OFFLINE="1", NOTES_QA_ENCODER=args.encoder)
    cli = [sys.executable, "-m", "notes_qa_cli"]
    results: dict[str, object] = {"machine": machine_facts(), "index_encoder": args.encoder}

    first, _ = timed([*cli, "index"], env)  # exports the ONNX encoder if the cache has none
    results["first_index_seconds"] = round(first, 3)

    full = [timed([*cli, "index", "--full"], env) for _ in range(3)]
    results["full_index"] = {"median_s": round(statistics.median(s for s, _ in full), 3),
                             "max_rss_mb": round(max(m for _, m in full) / 1024, 1)}

    question = "How big can a DynamoDB item be?"
    cold = [timed([*cli, "ask", "--json", question], env) for _ in range(args.runs)]
    baseline = [timed([sys.executable, "-c", "import sentence_transformers"], env)[0] for _ in range(3)]
    results["cold_ask"] = {
        "median_s": round(statistics.median(s for s, _ in cold), 3),
        "runs": [round(s, 3) for s, _ in cold],
        "max_rss_mb": round(max(m for _, m in cold) / 1024, 1),
        "baseline_import_sentence_transformers_s": round(statistics.median(baseline), 3),
    }
    results["cold_ask"]["ratio_vs_baseline"] = round(  # type: ignore[index]
        results["cold_ask"]["median_s"] / results["cold_ask"]["baseline_import_sentence_transformers_s"], 3  # type: ignore[index]
    )

    note = work / "corpus" / "cache.md"
    original = note.read_text(encoding="utf-8")
    incremental = []
    for i in range(args.runs):
        note.write_text(original + f"- benchmark edit number {i}\n", encoding="utf-8")
        incremental.append(timed([*cli, "index"], env))
    note.write_text(original, encoding="utf-8")
    results["incremental_index"] = {
        "median_s": round(statistics.median(s for s, _ in incremental), 3),
        "runs": [round(s, 3) for s, _ in incremental],
        "max_rss_mb": round(max(m for _, m in incremental) / 1024, 1),
    }
    subprocess.run([*cli, "index"], env=env, check=True, capture_output=True)

    os.environ.update(env)
    from indexer.evaluate.questions import load_questions
    from indexer.service import open_searcher
    from indexer.settings import Settings

    searcher = open_searcher(Settings.from_env()).searcher
    questions = [q.question for q in load_questions(ROOT / "eval" / "questions.jsonl")]
    searcher.search(questions[0])
    # Several rounds over every question; each round gives its percentiles and the table shows
    # the median of each over the rounds (this 2-core VM's speed drifts between minutes).
    rounds = []
    for _ in range(args.warm_rounds):
        warm: list[float] = []
        for q in questions:
            start = time.perf_counter()
            searcher.search(q, k=5)
            warm.append((time.perf_counter() - start) * 1000)
        rounds.append(percentiles(warm))
    results["warm_query_ms"] = {
        **{k: round(statistics.median(r[k] for r in rounds), 3) for k in ("p50", "p95", "p99")},
        "questions": len(questions), "rounds": [{k: round(v, 3) for k, v in r.items()} for r in rounds],
    }
    results["encoder"] = f"{searcher.embedder.backend} {searcher.embedder.precision}"
    # The same searches with the question vectors computed beforehand: what the pipeline costs
    # beyond the encoder (FAISS + BM25 + fusion + snippets).
    real = searcher.embedder
    vectors = {q: real.embed_query(q) for q in questions}

    class Precomputed:
        backend, dim, precision = real.backend, real.dim, real.precision

        def embed_query(self, text: str) -> object:
            return vectors[text]

    searcher.embedder = Precomputed()  # type: ignore[assignment]
    rest: list[float] = []
    for _ in range(3):
        for q in questions:
            start = time.perf_counter()
            searcher.search(q, k=5)
            rest.append((time.perf_counter() - start) * 1000)
    searcher.embedder = real
    results["warm_query_without_embedding_ms"] = {k: round(v, 3) for k, v in percentiles(rest).items()}
    # Baseline in the same run: the same questions embedded by sentence-transformers (torch),
    # alternating with the ONNX encoder in blocks so drift hits both alike.
    from sentence_transformers import SentenceTransformer

    from indexer.model_files import resolve_model

    model = SentenceTransformer(str(resolve_model(None).path), device="cpu")
    for q in questions[:10]:
        model.encode([q])
    onnx_ms: list[float] = []
    torch_ms: list[float] = []
    block = 24  # alternate in blocks: torch's OpenMP threads keep spinning a while after each call
    for first in range(0, len(questions), block):
        for encode, sink in ((lambda q: searcher.embedder.embed_query(q), onnx_ms), (lambda q: model.encode([q]), torch_ms)):
            part = questions[first : first + block]
            for q in part[:2]:  # settle after the switch, untimed
                encode(q)
            for q in part:
                start = time.perf_counter()
                encode(q)
                sink.append((time.perf_counter() - start) * 1000)
    results["warm_embed_only_ms"] = {k: round(v, 3) for k, v in percentiles(onnx_ms).items()}
    results["warm_embed_torch_ms"] = {k: round(v, 3) for k, v in percentiles(torch_ms).items()}

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    c, w, f, inc = results["cold_ask"], results["warm_query_ms"], results["full_index"], results["incremental_index"]
    print(f"index encoder: {args.encoder}\n| measure | value |\n|---|---|")
    print(f"| cold ask, new process to answer (median of {args.runs}) | {c['median_s']:.2f} s "  # type: ignore[index]
          f"(import sentence-transformers alone: {c['baseline_import_sentence_transformers_s']:.2f} s) |")  # type: ignore[index]
    print(f"| warm query p50 / p95 / p99 ({w['questions']} questions, median of {args.warm_rounds} rounds) | {w['p50']:.2f} / {w['p95']:.2f} / {w['p99']:.2f} ms |")  # type: ignore[index]
    e, t = results["warm_embed_only_ms"], results["warm_embed_torch_ms"]
    print(f"| query embedding p50: ONNX / sentence-transformers (every question, alternating blocks) | {e['p50']:.2f} / {t['p50']:.2f} ms "  # type: ignore[index]
          f"({t['p50'] / e['p50']:.1f}x) |")  # type: ignore[index]
    r = results["warm_query_without_embedding_ms"]
    print(f"| the same without the query embedding (vectors computed beforehand), p50 / p99 | "
          f"{r['p50']:.2f} / {r['p99']:.2f} ms |")  # type: ignore[index]
    print(f"| full index (--full, median of 3) | {f['median_s']:.2f} s |")  # type: ignore[index]
    print(f"| incremental index after a one-line edit (median of {args.runs}) | {inc['median_s']:.2f} s |")  # type: ignore[index]
    print(f"| peak RSS: ask / index | {c['max_rss_mb']:.0f} MB / {f['max_rss_mb']:.0f} MB |")  # type: ignore[index]
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
