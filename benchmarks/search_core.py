"""Benchmark the vector store's index types: exact IndexFlatIP vs IVF, and HNSW for comparison.

Flat and IVF are built, loaded and searched through ``VectorStore`` (the path the
product takes). The store does not build HNSW (``choose_spec`` picks IVF above the
exact size), so HNSW is built, saved, loaded and searched here with faiss itself,
with the same load flags, to keep the comparison that chose IVF reproducible.

For each corpus size, on synthetic L2-normalised 384-d vectors, it measures

* recall@10 of every configuration against exact search,
* single-query latency (p50/p99; queries issued one at a time, as the interactive
  tool does),
* build time, index file size, and process memory: RSS right after
  ``VectorStore.load`` with and without ``mmap`` and peak RSS while serving.

Every build and every load/serve runs in its own subprocess, so the peak RSS
reported (VmHWM from /proc/self/status) belongs to that configuration alone.

The data is *not* uniform on the sphere (uniform vectors in 384-d have no
neighbourhood structure, which makes every ANN index look far worse than on real
embeddings).  It is a Gaussian mixture: a few thousand centres of Zipf-distributed
popularity, anisotropic (power-law spectrum) within-cluster spread, a shared mean
direction, then normalised.  Its knobs were set so that nearest-neighbour
similarities and HNSW/IVF recall at 50k match all-MiniLM-L6-v2 embeddings of real
text (see ``DISTRIBUTION``).  Queries are fresh draws from the same distribution,
never members of the base set.

    .venv/bin/python benchmarks/search_core.py --sizes 10000,100000,1000000 --queries 1000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DIM = 384
K = 10
SEED = 20240611

# The synthetic distribution (see module docstring); calibrated against MiniLM.
DISTRIBUTION: dict[str, Any] = {
    "name": "anisotropic Gaussian mixture on the unit sphere",
    "centres": 4096,
    "zipf_exponent": 0.8,  # cluster popularity ~ rank^-s
    "spectrum_decay": 0.8,  # per-axis variance ~ (i+1)^-decay (total variance 1)
    "centre_scale": 1.0,
    "spread_scale": 0.8,  # within-cluster spread relative to centre spread
    "iso_noise": 0.02,  # isotropic noise added to every coordinate
    "mean_offset": 0.4,  # shared mean direction (real sentence embeddings are anisotropic)
    "note": (
        "Calibrated once against 51k all-MiniLM-L6-v2 embeddings of Python docstrings (50k base, 1k queries): "
        "real vs synthetic at 50k: mean cos to 1st NN 0.70 vs 0.72, to 10th NN 0.54 vs 0.61, random pair 0.10 vs "
        "0.10, norm of mean vector 0.31 vs 0.31, PCs for 50%/90% variance 43/187 vs 34/237; recall@10 HNSW M16 "
        "efSearch 16/32 0.886/0.946 vs 0.861/0.920, IVF nlist 256 nprobe 4/16 0.735/0.884 vs 0.713/0.885 "
        "(the synthetic data is slightly harder for both ANN indexes than the real embeddings)."
    ),
}


# ----------------------------------------------------------------------------- data


def _world(dim: int) -> dict[str, np.ndarray]:
    """The fixed parameters of the mixture (identical for every size)."""
    d = DISTRIBUTION
    rng = np.random.default_rng(SEED)
    sd = (np.arange(dim, dtype=np.float64) + 1.0) ** (-d["spectrum_decay"] / 2.0)
    sd = sd / np.sqrt(np.sum(sd**2))  # total variance 1
    mean = rng.standard_normal(dim)
    mean *= d["mean_offset"] / np.linalg.norm(mean)
    centres = mean + d["centre_scale"] * rng.standard_normal((d["centres"], dim)) * sd
    weights = (np.arange(d["centres"], dtype=np.float64) + 1.0) ** (-d["zipf_exponent"])
    return {
        "sd": sd.astype(np.float32),
        "centres": centres.astype(np.float32),
        "p": weights / weights.sum(),
    }


def _sample(world: dict[str, np.ndarray], n: int, rng: np.random.Generator, chunk: int = 65536) -> np.ndarray:
    """``n`` normalised float32 draws from the mixture, generated in chunks."""
    d = DISTRIBUTION
    dim = world["sd"].shape[0]
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        label = rng.choice(len(world["p"]), size=m, p=world["p"])
        x = world["centres"][label]
        x += d["spread_scale"] * rng.standard_normal((m, dim), dtype=np.float32) * world["sd"]
        x += d["iso_noise"] * rng.standard_normal((m, dim), dtype=np.float32) / np.sqrt(dim)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        out[start : start + m] = x
    return out


def make_data(n: int, nq: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    world = _world(dim)
    base = _sample(world, n, np.random.default_rng([seed, n, 1]))
    queries = _sample(world, nq, np.random.default_rng([seed, n, 2]))
    return base, queries


def exact_topk(base: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact top-k ids by inner product (batched BLAS, not the code under test)."""
    best_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_i = np.full((len(queries), k), -1, dtype=np.int64)
    for start in range(0, len(base), 131072):
        block = base[start : start + 131072]
        scores = queries @ block.T
        kk = min(k, block.shape[0])
        part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
        s = np.take_along_axis(scores, part, axis=1)
        all_s = np.concatenate([best_s, s], axis=1)
        all_i = np.concatenate([best_i, part + start], axis=1)
        order = np.argsort(-all_s, axis=1, kind="stable")[:, :k]
        best_s = np.take_along_axis(all_s, order, axis=1)
        best_i = np.take_along_axis(all_i, order, axis=1)
    return best_i


# ----------------------------------------------------------------------------- process facts


def proc_status() -> dict[str, float]:
    """RSS figures of this process in MiB, from /proc/self/status."""
    wanted = {"VmRSS": "rss", "RssAnon": "anon", "RssFile": "file", "VmHWM": "peak"}
    out: dict[str, float] = {}
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key in wanted:
                out[wanted[key]] = round(int(value.split()[0]) / 1024, 1)
    return out


def machine_facts() -> dict[str, Any]:
    import faiss

    from indexer.cores import usable_cores

    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        flags = ""
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    flags = line
                    break
        simd = [f for f in ("avx2", "avx512f", "fma") if f" {f}" in flags]
    except OSError:
        simd = []
    mem_total = 0.0
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    mem_total = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "usable_cores": usable_cores(),
        "cpu_model": model,
        "simd": simd,
        "mem_total_gib": round(mem_total, 1),
        "faiss_version": faiss.__version__,
        "faiss_simd": faiss.get_compile_options() if hasattr(faiss, "get_compile_options") else "",
        "numpy_version": np.__version__,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


# ----------------------------------------------------------------------------- configurations


def build_configs(n: int) -> list[dict[str, Any]]:
    """Index builds to compare at size ``n``; each carries the search settings to sweep."""
    configs: list[dict[str, Any]] = [{"name": "flat", "kind": "flat", "params": {}, "sweep": [{}]}]
    for m in (16, 32):
        configs.append(
            {
                "name": f"hnsw-M{m}",
                "kind": "hnsw",
                "params": {"M": m, "ef_construction": 80, "ef_search": 64},
                "sweep": [{"ef_search": ef} for ef in (16, 32, 64, 128, 256)],
            }
        )
    root = int(round(np.sqrt(n)))
    seen = set()
    for factor in (1, 4):  # nlist ~ sqrt(n) and ~4 sqrt(n), as powers of two
        nlist = 1 << max(4, int(round(np.log2(factor * root))))
        nlist = min(nlist, max(16, n // 39))  # >= 39 training points per list
        if nlist in seen:
            continue
        seen.add(nlist)
        configs.append(
            {
                "name": f"ivf-{nlist}",
                "kind": "ivf",
                "params": {"nlist": nlist, "nprobe": min(16, nlist)},
                "sweep": [{"nprobe": p} for p in (4, 8, 16, 32, 64, 128) if p <= nlist // 2],
            }
        )
    return configs


# ----------------------------------------------------------------------------- subprocess workers


def worker_gen(args: dict[str, Any]) -> dict[str, Any]:
    work = Path(args["work"])
    t0 = time.perf_counter()
    base, queries = make_data(args["n"], args["nq"], args["dim"], args["seed"])
    gen_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    truth = exact_topk(base, queries, K)
    truth_s = time.perf_counter() - t0
    np.save(work / "base.npy", base)
    np.save(work / "queries.npy", queries)
    np.save(work / "truth.npy", truth)
    # Neighbour-structure statistics of the data (what separates it from uniform noise).
    top = np.take_along_axis(queries @ base.T, truth, axis=1) if args["n"] <= 200_000 else None
    stats: dict[str, Any] = {"gen_s": round(gen_s, 2), "truth_s": round(truth_s, 2)}
    if top is not None:
        rng = np.random.default_rng(0)
        a, b = rng.integers(0, len(base), 2000), rng.integers(0, len(base), 2000)
        stats.update(
            mean_cos_top1=round(float(top[:, 0].mean()), 3),
            mean_cos_top10=round(float(top[:, -1].mean()), 3),
            mean_cos_random_pair=round(float(np.mean(np.sum(base[a] * base[b], axis=1))), 3),
        )
    return stats


class _HNSW:
    """A faiss HNSW-Flat index (inner product) with the store's interface for this benchmark."""

    def __init__(self, index: Any, ef_search: int = 64) -> None:
        import faiss

        self.index = index
        self.params = faiss.SearchParametersHNSW(efSearch=ef_search)

    @classmethod
    def build(cls, base: np.ndarray, params: dict[str, int]) -> _HNSW:
        import faiss

        index = faiss.IndexHNSWFlat(base.shape[1], params["M"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params["ef_construction"]
        index.add(np.ascontiguousarray(base, dtype=np.float32))
        return cls(index, params["ef_search"])

    @classmethod
    def load(cls, path: Path, mmap: bool) -> _HNSW:
        import faiss

        flags = (faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY) if mmap else 0
        return cls(faiss.read_index(str(path), flags))

    def with_ef_search(self, ef_search: int) -> _HNSW:
        return _HNSW(self.index, ef_search)

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))

    def search(self, queries: np.ndarray, k: int) -> Any:
        from indexer.vector_index import Candidates

        scores, ids = self.index.search(queries, k, params=self.params)
        return Candidates(ids, scores)


def worker_build(args: dict[str, Any]) -> dict[str, Any]:
    from indexer.store import StoreSpec, VectorStore

    work = Path(args["work"])
    base = np.load(work / "base.npy", mmap_mode="r")
    before = proc_status()
    times = []
    store: Any = None
    for _ in range(args["repeats"]):
        store = None
        t0 = time.perf_counter()
        if args["kind"] == "hnsw":
            store = _HNSW.build(np.asarray(base), args["params"])
        else:
            store = VectorStore.build(np.asarray(base), StoreSpec(args["kind"], args["params"]))
        times.append(time.perf_counter() - t0)
    assert store is not None
    after = proc_status()
    path = work / f"{args['name']}.faiss"
    store.save(path)
    return {
        "build_s": round(statistics.median(times), 3),
        "build_runs": len(times),
        "index_bytes": path.stat().st_size,
        "build_rss_before_mb": before["rss"],
        "build_peak_rss_mb": after["peak"],
    }


def worker_serve(args: dict[str, Any]) -> dict[str, Any]:
    from indexer.evaluate.metrics import percentile  # numpy's default (linear) interpolation
    from indexer.store import StoreSpec, VectorStore

    work = Path(args["work"])
    queries = np.load(work / "queries.npy")
    truth = np.load(work / "truth.npy")
    # Warm the import of faiss and the store code before measuring the baseline.
    VectorStore.build(queries[:4].copy(), StoreSpec("flat")).search(queries[:1], 1)
    before = proc_status()
    t0 = time.perf_counter()
    path = work / f"{args['name']}.faiss"
    store: Any = _HNSW.load(path, args["mmap"]) if args["kind"] == "hnsw" else VectorStore.load(path, mmap=args["mmap"])
    load_s = time.perf_counter() - t0
    after_load = proc_status()
    rows = []
    nq = len(queries)
    for setting in args["sweep"]:
        s = store
        if "ef_search" in setting:
            s = store.with_ef_search(setting["ef_search"])
        elif "nprobe" in setting:  # the same mapped index, searched with another nprobe
            s = VectorStore(store._index, StoreSpec("ivf", {**store.spec.params, **setting}), mapped=args["mmap"])
        # Warm-up (page-faults an mmapped index in, fills caches), also sizes the run.
        t0 = time.perf_counter()
        warm = min(nq, 50)
        for i in range(warm):
            s.search(queries[i : i + 1], K)
        per_query = (time.perf_counter() - t0) / warm
        # Cap a pass at ~budget seconds (matters only for exact search at 1M).
        timed = int(min(nq, max(100, args["pass_budget_s"] / max(per_query, 1e-9))))
        repeats = args["repeats"] if per_query * timed * args["repeats"] < 3 * args["pass_budget_s"] else 1
        p50s, p99s, means = [], [], []
        found = np.empty((timed, K), dtype=np.int64)
        for r in range(repeats):
            lat = np.empty(timed)
            for i in range(timed):
                q = queries[i : i + 1]
                t = time.perf_counter_ns()
                ids = s.search(q, K).ids
                lat[i] = (time.perf_counter_ns() - t) / 1e6
                if r == 0:
                    found[i] = ids[0]
            p50s.append(percentile(lat.tolist(), 50))
            p99s.append(percentile(lat.tolist(), 99))
            means.append(float(lat.mean()))
        hits = [len(set(found[i].tolist()) & set(truth[i].tolist())) for i in range(timed)]
        rows.append(
            {
                "setting": setting,
                "recall_at_10": round(float(np.mean(hits)) / K, 4),
                "p50_ms": round(statistics.median(p50s), 3),
                "p99_ms": round(statistics.median(p99s), 3),
                "mean_ms": round(statistics.median(means), 3),
                "timed_queries": timed,
                "passes": repeats,
            }
        )
    end = proc_status()
    return {
        "mmap": args["mmap"],
        "load_s": round(load_s, 4),
        "rss_baseline_mb": before["rss"],
        "load_rss_anon_mb": round(after_load["anon"] - before["anon"], 1),
        "load_rss_file_mb": round(after_load["file"] - before["file"], 1),
        "served_rss_anon_mb": round(end["anon"] - before["anon"], 1),
        "served_rss_file_mb": round(end["file"] - before["file"], 1),
        "peak_rss_mb": end["peak"],
        "rows": rows,
    }


WORKERS = {"gen": worker_gen, "build": worker_build, "serve": worker_serve}


def run_worker(kind: str, args: dict[str, Any], log: Path) -> dict[str, Any]:
    """Run one worker in a fresh interpreter; its last stdout line is the JSON result."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, "--worker-args", json.dumps(args)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"$ {kind} {json.dumps(args)}\n{proc.stdout}{proc.stderr}\n")
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} worker failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_s"] = round(time.perf_counter() - t0, 2)
    return result


# ----------------------------------------------------------------------------- report


def table_rows(results: dict[str, Any]) -> Iterator[list[str]]:
    for size in results["sizes"]:
        n = size["n"]
        for cfg in size["configs"]:
            serve = {s["mmap"]: s for s in cfg["serve"]}
            for row_m, row_c in zip(serve[True]["rows"], serve[False]["rows"], strict=True):
                setting = ", ".join(f"{k}={v}" for k, v in row_m["setting"].items()) or "exact"
                params = {k: v for k, v in cfg["params"].items() if k not in ("ef_search", "nprobe")}
                name = cfg["kind"] + ("(" + ", ".join(f"{k}={v}" for k, v in params.items()) + ")" if params else "")
                yield [
                    f"{n:,}",
                    name,
                    setting,
                    f"{row_m['recall_at_10']:.3f}",
                    f"{row_m['p50_ms']:.2f}",
                    f"{row_m['p99_ms']:.2f}",
                    f"{row_c['p50_ms']:.2f}",
                    f"{cfg['build']['build_s']:.1f}",
                    f"{cfg['build']['index_bytes'] / 2**20:.0f}",
                    f"{serve[False]['peak_rss_mb']:.0f}",
                    f"{serve[True]['load_rss_anon_mb']:.0f}/{serve[False]['load_rss_anon_mb']:.0f}",
                    f"{serve[True]['served_rss_anon_mb']:.0f}+{serve[True]['served_rss_file_mb']:.0f}",
                    f"{serve[True]['load_s'] * 1000:.0f}/{serve[False]['load_s'] * 1000:.0f}",
                ]


HEADER = [
    "n",
    "index",
    "search",
    "recall@10",
    "p50 ms",
    "p99 ms",
    "p50 ms (no mmap)",
    "build s",
    "file MiB",
    "peak RSS MiB (no mmap)",
    "RSS after load MiB anon (mmap/no mmap)",
    "RSS served mmap MiB anon+file",
    "load ms (mmap/no mmap)",
]


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        "# search_core benchmark",
        "",
        f"Machine: {m['cores']} cores, {m['cpu_model']} ({', '.join(m['simd'])}), {m['mem_total_gib']} GiB; "
        f"faiss {m['faiss_version']}, numpy {m['numpy_version']}, Python {m['python']}.",
        "",
        f"Data: {results['distribution']['name']}, dim {results['dim']}, {results['queries']} queries "
        "(fresh draws, not in the base set); not uniform random vectors, which have no neighbour structure. "
        f"{results['distribution']['note']}",
        "",
        "Latency: one query per `VectorStore.search` call (HNSW: faiss's own search, the store has no HNSW), k=10, after a warm-up; p50/p99 are medians over "
        "passes. 'no mmap' = `VectorStore.load(mmap=False)`. RSS figures are deltas over the process baseline "
        "except peak RSS (VmHWM of the serving process, absolute).",
        "",
        "| " + " | ".join(HEADER) + " |",
        "| " + " | ".join("---" for _ in HEADER) + " |",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(results)]
    lines += ["", "## Targets at the largest size", ""]
    for line in results.get("targets", []):
        lines.append(f"- {line}")
    lines.append("")
    return "\n".join(lines)


def check_targets(results: dict[str, Any]) -> list[str]:
    """p50 <= 5 ms at recall@10 >= 0.95 and memory <= 2 GiB, at the largest size."""
    size = max(results["sizes"], key=lambda s: s["n"])
    out = [f"n = {size['n']:,}: p50 <= 5 ms, recall@10 >= 0.95, serving peak RSS (no mmap) <= 2048 MiB"]
    for cfg in size["configs"]:
        serve = {s["mmap"]: s for s in cfg["serve"]}
        for row in serve[True]["rows"]:
            ok = (
                row["p50_ms"] <= 5.0
                and row["recall_at_10"] >= 0.95
                and serve[False]["peak_rss_mb"] <= 2048
                and serve[True]["peak_rss_mb"] <= 2048
            )
            out.append(
                f"{'PASS' if ok else 'fail'} {cfg['name']} {row['setting'] or 'exact'}: recall {row['recall_at_10']:.3f}, "
                f"p50 {row['p50_ms']:.2f} ms, peak RSS {serve[False]['peak_rss_mb']:.0f} MiB"
            )
    return out


# ----------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated corpus sizes")
    parser.add_argument("--queries", type=int, default=1000, help="queries per size")
    parser.add_argument("--dim", type=int, default=DIM)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--repeats", type=int, default=3, help="timed passes over the queries (median reported)")
    parser.add_argument(
        "--build-repeats-below", type=int, default=20_000, help="repeat builds 3x (median) below this size"
    )
    parser.add_argument("--pass-budget", type=float, default=30.0, help="seconds per timed pass before capping")
    parser.add_argument("--only", default="", help="comma-separated config names to run (default all)")
    parser.add_argument("--workdir", default="", help="scratch directory (default: a temp dir, removed)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "search_core.json"))
    parser.add_argument("--worker", default="", help=argparse.SUPPRESS)
    parser.add_argument("--worker-args", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        result = WORKERS[args.worker](json.loads(args.worker_args))
        print(json.dumps(result))
        return 0

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="search_core."))
    scratch.mkdir(parents=True, exist_ok=True)
    log = scratch / "workers.log"
    log.write_text("", encoding="utf-8")
    print(f"scratch: {scratch} (worker output in {log})", flush=True)
    results: dict[str, Any] = {
        "benchmark": "search_core",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine_facts(),
        "dim": args.dim,
        "k": K,
        "queries": args.queries,
        "distribution": DISTRIBUTION,
        "sizes": [],
    }
    ok = False
    try:
        for n in sizes:
            work = scratch / f"n{n}"
            work.mkdir(exist_ok=True)
            print(f"[n={n:,}] generating data and exact ground truth", flush=True)
            common = {"work": str(work), "n": n}
            data = run_worker("gen", {**common, "nq": args.queries, "dim": args.dim, "seed": args.seed}, log)
            size: dict[str, Any] = {"n": n, "data": data, "configs": []}
            results["sizes"].append(size)
            for cfg in build_configs(n):
                if only and cfg["name"].split("-")[0] not in only and cfg["name"] not in only:
                    continue
                print(f"[n={n:,}] {cfg['name']}: build", flush=True)
                repeats = 3 if n < args.build_repeats_below else 1
                build = run_worker("build", {**common, **cfg, "repeats": repeats}, log)
                serves = []
                for mmap in (True, False):
                    print(f"[n={n:,}] {cfg['name']}: serve mmap={mmap}", flush=True)
                    serves.append(
                        run_worker(
                            "serve",
                            {
                                **common,
                                **cfg,
                                "mmap": mmap,
                                "repeats": args.repeats,
                                "pass_budget_s": args.pass_budget,
                            },
                            log,
                        )
                    )
                size["configs"].append({**cfg, "build": build, "serve": serves})
                (work / f"{cfg['name']}.faiss").unlink(missing_ok=True)
                _write(results, out)  # partial results survive an interruption
            shutil.rmtree(work, ignore_errors=True)
        ok = True
    finally:
        if ok and not args.workdir:
            shutil.rmtree(scratch, ignore_errors=True)
    results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    results["targets"] = check_targets(results) if results["sizes"] else []
    _write(results, out)
    text = markdown(results)
    out.with_suffix(".md").write_text(text, encoding="utf-8")
    print(text)
    return 0


def _write(results: dict[str, Any], out: Path) -> None:
    from indexer.fileio import atomic_write_text

    atomic_write_text(out, json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
