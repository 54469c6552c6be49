"""Run a BEIR-format dataset: corpus.jsonl, queries.jsonl, qrels/<split>.tsv.

As MTEB does: one vector per document from ``title + " " + text``, exact
search. Vectors and the BM25 matrix are cached under the cache folder, keyed by
the dataset files' hashes and the model fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import EvalError, IndexFileError, IndexWriteError, os_reason
from ..fileio import atomic_folder, sha256_file
from ..fusion import FusionParams, fuse
from ..safe_read import open_binary, read_bytes
from .jsonl import json_object
from .metrics import mean, mrr_at, ndcg_at, percentile, recall_at

if TYPE_CHECKING:
    import numpy as np

    from ..embedder import Embedder


@dataclass(frozen=True)
class BeirData:
    doc_ids: tuple[str, ...]
    doc_texts: tuple[str, ...]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    warnings: tuple[str, ...]
    fingerprint: str


def _jsonl(path: Path, what: str) -> list[dict[str, Any]]:
    if not path.is_file():
        raise EvalError(f"{path.parent} has no {path.name}", fix="a BEIR folder needs corpus.jsonl, queries.jsonl, qrels/")
    records = []
    for number, line in _lines(path):
        if not line.strip():
            continue
        record = json_object(path, number, line)
        if "_id" not in record:
            raise EvalError(f'{path} line {number}: a {what} needs an "_id"')
        records.append(record)
    return records


def _lines(path: Path) -> list[tuple[int, str]]:
    """Numbered lines of a UTF-8 text file; unreadable or non-UTF-8 files are an EvalError."""
    lines: list[tuple[int, str]] = []
    try:
        with open_binary(path) as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    lines.append((number, raw.decode("utf-8-sig" if number == 1 else "utf-8")))
                except UnicodeDecodeError as exc:
                    raise EvalError(f"{path} line {number} is not UTF-8 text") from exc
    except OSError as exc:
        raise EvalError(f"cannot read {path} ({os_reason(exc)})") from exc
    return lines


def load_beir(folder: Path, split: str = "test") -> BeirData:
    if not folder.is_dir():
        raise EvalError(f"BEIR folder {folder} does not exist")
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        splits = sorted(p.stem for p in (folder / "qrels").glob("*.tsv")) if (folder / "qrels").is_dir() else []
        if not splits:
            raise EvalError(f"{folder} has no qrels/ folder of judgements", fix=f"a BEIR folder needs qrels/{split}.tsv")
        raise EvalError(f"{folder} has no qrels/{split}.tsv", fix=f"pass --split with one of: {', '.join(splits)}")
    warnings = []
    docs = _jsonl(folder / "corpus.jsonl", "document")
    first: dict[str, dict[str, Any]] = {}
    for doc in docs:
        first.setdefault(str(doc["_id"]), doc)
    if len(first) < len(docs):
        # A repeated id would be ranked (and counted relevant) twice: nDCG above 1.
        warnings.append(f"{len(docs) - len(first)} documents in corpus.jsonl repeat an earlier _id; "
                        "only the first of each is used")
        docs = list(first.values())
    doc_ids = tuple(str(d["_id"]) for d in docs)
    texts = tuple(f"{d.get('title') or ''} {d.get('text') or ''}".strip() for d in docs)
    known_docs = set(doc_ids)
    query_records = _jsonl(folder / "queries.jsonl", "query")
    queries: dict[str, str] = {}
    for q in query_records:
        queries.setdefault(str(q["_id"]), str(q.get("text", "")))
    if len(queries) < len(query_records):
        warnings.append(f"{len(query_records) - len(queries)} queries in queries.jsonl repeat an earlier _id; "
                        "only the first of each is used")
    qrels: dict[str, dict[str, int]] = {}
    unknown_docs = unknown_queries = 0
    for number, line in _lines(qrels_path):
        parts = line.rstrip("\n").split("\t")
        if number == 1 and parts[0] in ("query-id", "query_id", "qid"):
            continue
        if not line.strip():
            continue
        if len(parts) < 3:
            raise EvalError(f"{qrels_path} line {number}: expected query-id, corpus-id, score")
        try:
            score = int(float(parts[2]))
        except (ValueError, OverflowError) as exc:
            raise EvalError(f"{qrels_path} line {number}: the score {parts[2]!r} is not a number") from exc
        if parts[1] not in known_docs:
            unknown_docs += 1
            continue
        if parts[0] not in queries:
            unknown_queries += 1
            continue
        qrels.setdefault(parts[0], {})[parts[1]] = score
    if unknown_docs:
        warnings.append(f"{unknown_docs} qrels lines name documents not in corpus.jsonl; ignored")
    if unknown_queries:
        warnings.append(f"{unknown_queries} qrels lines name queries not in queries.jsonl; ignored")
    if not qrels:
        why = ", ".join(w.removesuffix("; ignored") for w in warnings) or "no judgement lines"
        raise EvalError(f"{qrels_path} has no usable judgements ({why})",
                        fix="check its ids against corpus.jsonl and queries.jsonl")
    digest = hashlib.sha256()
    for name in ("corpus.jsonl", "queries.jsonl"):
        digest.update(f"{name}:".encode())
        digest.update(bytes.fromhex(sha256_file(folder / name)))
    digest.update(read_bytes(qrels_path, 1 << 30))
    digest.update("\n".join(doc_ids[:50]).encode())
    return BeirData(doc_ids, texts, queries, qrels, tuple(warnings), digest.hexdigest()[:24])


@dataclass(frozen=True)
class BeirIndex:
    vectors: np.ndarray
    keyword: Any  # KeywordIndex


_CACHE_FORMAT = 1


@dataclass(frozen=True)
class CacheManifest:
    """``manifest.json`` of a cached BEIR index: how it was made, and the sha256 of each file."""

    documents: int
    dim: int
    model: str
    precision: str  # fp32 for caches made before the setting ("encoder" in the file)
    files: dict[str, str]
    format: int = _CACHE_FORMAT

    @classmethod
    def from_json(cls, raw: Any) -> CacheManifest:
        """The manifest, or ``ValueError`` when it is not one."""
        if not isinstance(raw, dict):
            raise ValueError("not an object")
        files = raw.get("files")
        if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
            raise ValueError("files")
        fields = (raw.get("format"), raw.get("documents"), raw.get("dim"))
        if not all(isinstance(x, int) for x in fields) or not isinstance(raw.get("model"), str):
            raise ValueError("fields")
        precision = raw.get("encoder", "fp32")
        if not isinstance(precision, str):
            raise ValueError("encoder")
        return cls(raw["documents"], raw["dim"], raw["model"], precision, dict(files), raw["format"])

    def to_json(self) -> dict[str, Any]:
        return {"format": self.format, "documents": self.documents, "dim": self.dim, "model": self.model,
                "encoder": self.precision, "files": dict(self.files)}


def beir_index(
    data: BeirData,
    embedder: Embedder,
    root: Path,
    progress: Callable[[str, int, int], None] | None = None,
    warn: Callable[[str], None] | None = None,
) -> BeirIndex:
    """The dataset's vectors and BM25 matrix, cached under ``root`` and checked when read.

    The cache folder holds ``vectors.npy``, ``bm25.*`` and a ``manifest.json`` with the
    sha256 of each; it is written beside the old one and renamed into place when complete,
    so an interrupted run never leaves a half-written cache. A cache that fails its check
    is built again (with a warning), never used.
    """
    import numpy as np

    from ..keyword import KeywordIndex

    name = embedder.model_id.replace("/", "_") + ("" if embedder.precision == "fp32" else f"-{embedder.precision}")
    folder = root / data.fingerprint / name
    try:
        usable = _cache_is_usable(folder, data, embedder)
    except IndexFileError as exc:
        if warn:
            warn(f"{exc}; building it again")
        usable = False
    try:
        if not usable:
            _build_cache(folder, data, embedder, progress)
        vectors = np.load(folder / "vectors.npy", allow_pickle=False)
    except OSError as exc:
        raise IndexWriteError(
            f"cannot write the BEIR index cache in {root} ({os_reason(exc)})",
            fix="pass --index a writable folder (or set NOTES_QA_CACHE to one)",
        ) from exc
    return BeirIndex(vectors, KeywordIndex.load(folder))


def _cache_is_usable(folder: Path, data: BeirData, embedder: Embedder) -> bool:
    """False when there is no cache yet; IndexFileError when there is one that fails its check."""
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        return False
    problem = f"the cached BEIR index in {folder} is damaged"
    try:
        manifest = CacheManifest.from_json(json.loads(manifest_path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise IndexFileError(problem) from exc
    wanted = CacheManifest(len(data.doc_ids), embedder.dim, embedder.model_id, embedder.precision, manifest.files)
    if manifest != wanted:
        raise IndexFileError(f"the cached BEIR index in {folder} was made differently")
    for name, digest in manifest.files.items():
        path = folder / name
        if "/" in str(name) or not path.is_file() or sha256_file(path) != digest:
            raise IndexFileError(f"{problem} ({name} does not match its checksum)")
    return True


def _build_cache(
    folder: Path, data: BeirData, embedder: Embedder, progress: Callable[[str, int, int], None] | None
) -> None:
    import numpy as np

    from ..keyword import build_keyword_index

    with atomic_folder(folder) as tmp:
        build_keyword_index(list(data.doc_texts), tmp)
        parts = []
        batch = 256
        for start in range(0, len(data.doc_texts), batch):
            parts.append(embedder.embed_documents(list(data.doc_texts[start : start + batch])))
            if progress:
                progress("embedding", min(start + batch, len(data.doc_texts)), len(data.doc_texts))
        vectors = np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, embedder.dim), np.float32)
        np.save(tmp / "vectors.npy", vectors, allow_pickle=False)
        files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir())}
        manifest = CacheManifest(len(data.doc_ids), embedder.dim, embedder.model_id, embedder.precision, files)
        (tmp / "manifest.json").write_text(json.dumps(manifest.to_json(), indent=2), encoding="utf-8")


@dataclass(frozen=True)
class BeirRun:
    """What :func:`rank_beir` found: each judged query's ranked document ids, and its latency."""

    runs: dict[str, list[str]]  # query id -> document ids, best first (the input of ``score_runs``)
    latencies_ms: tuple[float, ...]  # per query, in query id order, the query's share of embedding included


def rank_beir(
    data: BeirData, index: BeirIndex, embedder: Embedder, mode: str, fusion: FusionParams = FusionParams(), depth: int = 100
) -> BeirRun:
    """The top ``depth`` documents of each judged query, ranked as ``notes-qa ask`` ranks chunks
    (same :func:`~indexer.fusion.fuse`), and each query's latency in ms."""
    import numpy as np

    qids = sorted(data.qrels)
    started = time.perf_counter()
    qvecs = embedder.embed_queries([data.queries[q] for q in qids]) if mode != "keyword" else None
    embed_seconds = (time.perf_counter() - started) / max(1, len(qids))
    runs: dict[str, list[str]] = {}
    latencies: list[float] = []
    for row, qid in enumerate(qids):
        t0 = time.perf_counter()
        dense = index.vectors @ qvecs[row] if qvecs is not None else None
        keyword = index.keyword.scores(data.queries[qid]) if mode != "dense" else None
        if mode == "dense":
            scores = dense
        elif mode == "keyword":
            scores = keyword
        else:
            assert dense is not None and keyword is not None
            scores = fuse(dense, keyword, fusion)
        assert scores is not None
        top = np.argpartition(-scores, min(depth, len(scores) - 1))[:depth]
        top = top[np.lexsort((top, -scores[top]))]
        runs[qid] = [data.doc_ids[i] for i in top]
        latencies.append((time.perf_counter() - t0 + (embed_seconds if qvecs is not None else 0)) * 1000)
    return BeirRun(runs, tuple(latencies))


def score_runs(runs: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    qids = sorted(qrels)
    return {
        "ndcg@10": round(mean([ndcg_at(runs.get(q, []), qrels[q], 10) for q in qids]), 4),
        "recall@100": round(mean([recall_at(runs.get(q, []), qrels[q], 100) for q in qids]), 4),
        "mrr@10": round(mean([mrr_at(runs.get(q, []), qrels[q], 10) for q in qids]), 4),
    }


def latency_summary(latencies: Sequence[float]) -> dict[str, float]:
    return {"p50": round(percentile(latencies, 50), 3), "p95": round(percentile(latencies, 95), 3)}
