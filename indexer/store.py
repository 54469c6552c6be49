"""FAISS vector store: build, save, memory-mapped load and top-k search.

Vectors are float32, L2-normalised, so inner product equals cosine similarity.
Ids are ``0..n-1`` in insertion order.  Only index types that keep the vectors
exactly are used (``IndexFlatIP``, ``IndexHNSWFlat``, ``IndexIVFFlat``), so
:meth:`VectorStore.vectors` can hand the embeddings back for incremental
rebuilds.

Only numpy is imported at module import time; faiss is imported lazily on first
use so that ``import indexer`` stays cheap.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, BinaryIO, Final

import numpy as np
import numpy.typing as npt

from .errors import IndexFileError, first_line

if TYPE_CHECKING:
    from types import ModuleType

    import faiss

__all__ = ["StoreError", "StoreSpec", "VectorStore", "choose_spec"]


class StoreError(IndexFileError):
    """A vector store could not be built, saved, loaded or searched."""


# kind -> parameter name -> (min, max) inclusive.  Every listed parameter is required.
_PARAM_RANGES: Final[Mapping[str, Mapping[str, tuple[int, int]]]] = {
    "flat": {},
    "hnsw": {"M": (4, 128), "ef_construction": (8, 4096), "ef_search": (1, 32768)},
    "ivf": {"nlist": (1, 1 << 20), "nprobe": (1, 1 << 20)},
}
# Parameters that only affect search and may differ between build and load.
_SEARCH_PARAMS: Final = frozenset({"ef_search", "nprobe"})

# IVF k-means is trained on at most this many points per list (faiss's own default
# is 256; 64 keeps a 1M-vector nlist=4096 build at 188 s on the 2-vCPU benchmark box).
_IVF_TRAIN_POINTS_PER_LIST: Final = 64
_IVF_TRAIN_SEED: Final = 1234
# Norm tolerance for "L2-normalised" input (float32 normalisation error is ~1e-7).
_NORM_TOLERANCE: Final = 1e-3


@dataclass(frozen=True)
class StoreSpec:
    """Which FAISS index to build and with which parameters.

    ``kind`` is ``"flat"`` (exact, no params), ``"hnsw"`` (``M``,
    ``ef_construction``, ``ef_search``) or ``"ivf"`` (``nlist``, ``nprobe``).
    Invalid specs cannot be constructed: ``StoreError`` is raised instead.
    """

    kind: str
    params: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        kind = self.kind
        if not isinstance(kind, str) or kind not in _PARAM_RANGES:
            raise StoreError(f"Unknown vector index kind {kind!r}; expected one of {sorted(_PARAM_RANGES)}.")
        if not isinstance(self.params, Mapping):
            raise StoreError(f"Index params must be a mapping, got {type(self.params).__name__}.")
        ranges = _PARAM_RANGES[kind]
        unknown = sorted(str(name) for name in self.params if name not in ranges)
        if unknown:
            raise StoreError(f"Unknown parameter(s) {unknown} for a {kind!r} index.")
        missing = sorted(name for name in ranges if name not in self.params)
        if missing:
            raise StoreError(f"Missing parameter(s) {missing} for a {kind!r} index.")
        clean: dict[str, int] = {}
        for name, (low, high) in ranges.items():
            value = self.params[name]
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise StoreError(f"Parameter {name!r} of a {kind!r} index must be an integer, got {value!r}.")
            if not low <= int(value) <= high:
                raise StoreError(
                    f"Parameter {name!r} of a {kind!r} index must be in [{low}, {high}], got {int(value)}."
                )
            clean[name] = int(value)
        if kind == "ivf" and clean["nprobe"] > clean["nlist"]:
            raise StoreError(f"IVF nprobe ({clean['nprobe']}) cannot exceed nlist ({clean['nlist']}).")
        # Immutable copy, so a frozen spec really is frozen.
        object.__setattr__(self, "params", MappingProxyType(clean))

    def __hash__(self) -> int:
        return hash((self.kind, tuple(sorted(self.params.items()))))

    def to_json(self) -> dict[str, object]:
        """Return a JSON-serialisable dict; inverse of :meth:`from_json`."""
        return {"kind": self.kind, "params": dict(self.params)}

    @classmethod
    def from_json(cls, d: object) -> StoreSpec:
        """Parse the output of :meth:`to_json`, raising ``StoreError`` on bad input."""
        if not isinstance(d, Mapping):
            raise StoreError(f"Index spec must be a JSON object, got {type(d).__name__}.")
        extra = sorted(str(key) for key in d if key not in ("kind", "params"))
        if extra:
            raise StoreError(f"Index spec has unknown field(s) {extra}.")
        if "kind" not in d:
            raise StoreError("Index spec has no 'kind' field.")
        params = d.get("params", {})
        if not isinstance(params, Mapping):
            raise StoreError(f"Index spec 'params' must be a JSON object, got {type(params).__name__}.")
        return cls(kind=d["kind"], params=params)

    def with_search_params(self, **overrides: int) -> StoreSpec:
        """Return a copy with search-time parameters (``ef_search``/``nprobe``) replaced."""
        bad = sorted(name for name in overrides if name not in _SEARCH_PARAMS)
        if bad:
            raise StoreError(f"Only search-time parameters can be overridden, not {bad}.")
        return StoreSpec(self.kind, {**self.params, **overrides})


FLAT_SPEC: Final = StoreSpec("flat")


# Exact search up to this many stored floats (n * dim): 50k vectors of 384-d, 77 MB.
FLAT_MAX_FLOATS: Final = 50_000 * 384


def choose_spec(n: int, dim: int) -> StoreSpec:
    """Pick an index for ``n`` vectors of dimension ``dim``: exact when small, IVF-Flat above.

    Measured by benchmarks/search_core.py (results/search_core.json; 2-vCPU AMD EPYC,
    faiss 1.15.1, 384-d MiniLM-like synthetic vectors, one query per call, k=10):

    * Flat scans ~0.11 us per 384-d vector per query: p50 0.96 ms at 10k, 11.1 ms at
      100k, 174 ms at 1M.  Below ~50k vectors (~5 ms) it stays exact, builds in
      milliseconds, and also suits the callers' huge-k (k = n) dense queries.
    * Above that both ANN indexes meet p50 <= 5 ms at recall@10 >= 0.95 with < 2 GB
      at 1M: HNSW M=32 efSearch=64 0.952 / 0.43 ms, IVF nlist=4096 nprobe=16 0.968 /
      1.37 ms.  IVF is chosen because the store is rebuilt on every index refresh and
      builds 3-12x faster (100k: 12 s vs 64 s; 1M: 188 s vs 547 s) with ~240 MB less
      memory at 1M (file 1.49 GB vs 1.73 GB).
    * nlist ~ 4*sqrt(n) rounded to a power of two (1024 at 100k, 4096 at 1M).  nprobe
      is set for measured recall >= 0.96: 128 of 1024 at 100k (0.972, 2.35 ms) and 16
      of 4096 at 1M (0.968, 1.37 ms), interpolated log-log in between and never below
      16 (sizes beyond 1M are extrapolated, not measured).  Spot checks of the
      interpolation (500 queries): 60k -> nprobe 203: 0.985 / 2.06 ms; 250k -> nlist
      2048, nprobe 56: 0.964 / 2.11 ms; 500k -> nprobe 30: 0.970 / 1.86 ms.
    """
    if isinstance(n, bool) or isinstance(dim, bool) or n < 0 or dim < 1:
        raise StoreError(f"Cannot choose an index for n={n} vectors of dimension {dim}.")
    if n * dim <= FLAT_MAX_FLOATS:
        return FLAT_SPEC
    nlist = 1 << max(4, round(math.log2(4.0 * math.sqrt(n))))
    nlist = min(nlist, max(16, n // 39))  # faiss wants >= 39 training points per list
    # 128 at 1e5 and 16 at 1e6: nprobe = 128 * (n / 1e5) ** -log10(8).
    nprobe = round(128 * (n / 1e5) ** -math.log10(8.0))
    nprobe = max(16, min(nprobe, nlist // 4, 256))
    return StoreSpec("ivf", {"nlist": nlist, "nprobe": nprobe})


# --------------------------------------------------------------------------- file checks


class _Layout:
    """Walks the FAISS serialisation of the index types this store writes, without faiss.

    faiss's memory-mapped reader (``IO_FLAG_MMAP_IFC``) does not bounds-check a
    truncated file and segfaults (faiss 1.15.1), so a file is checked here, reading only
    headers and size fields, before faiss sees it.  The format is faiss's
    ``index_write.cpp``: fourcc, index header, then per-type fields.
    """

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self._handle = handle
        self._size = size

    def _read(self, fmt: str) -> tuple[int, ...]:
        width = struct.calcsize(fmt)
        raw = self._handle.read(width)
        if len(raw) != width:
            raise StoreError("the file ends in the middle of the index")
        return struct.unpack(fmt, raw)

    def _one(self, fmt: str) -> int:
        return int(self._read(fmt)[0])

    def _skip(self, count: int, width: int) -> int:
        """Skip ``count`` items of ``width`` bytes; return the offset where they start."""
        start = self._handle.tell()
        if count < 0 or start + count * width > self._size:
            raise StoreError("the file is shorter than the sizes it declares")
        self._handle.seek(start + count * width)
        return start

    def _vector(self, width: int, expected: int | None = None, what: str = "array") -> tuple[int, int]:
        """A faiss WRITEVECTOR: uint64 count then the items; returns (count, data offset)."""
        count = self._one("<Q")
        if expected is not None and count != expected:
            raise StoreError(f"its {what} has {count} entries instead of {expected}")
        return count, self._skip(count, width)

    def _header(self) -> tuple[int, int, int]:
        d, ntotal, _, _, trained, metric = self._read("<iqqqbi")
        if metric > 1:
            self._read("<f")
        if d < 1 or ntotal < 0 or trained not in (0, 1):
            raise StoreError("its index header is invalid")
        return d, ntotal, metric

    def _array(self, offset: int, dtype: str, count: int) -> npt.NDArray[Any]:
        """A read-only, file-backed view of ``count`` items at ``offset`` (no copy into RAM)."""
        if count == 0:
            return np.zeros(0, dtype=dtype)
        position = self._handle.tell()  # np.memmap moves the file position
        view = np.memmap(self._handle, dtype=dtype, mode="r", offset=offset, shape=(count,))
        self._handle.seek(position)
        return view

    def _fourcc(self) -> bytes:
        raw = self._handle.read(4)
        if len(raw) != 4:
            raise StoreError("the file ends in the middle of the index")
        return raw

    def _flat(self, d: int, ntotal: int) -> None:
        # WRITEXBVECTOR: the count is in float32 units (bytes / 4).
        self._vector(4, ntotal * d, "vector storage")

    def index(self) -> tuple[bytes, int, int]:
        """Check one (possibly nested) index; returns (fourcc, ntotal, dim)."""
        fourcc = self._fourcc()
        if fourcc in (b"IxFI", b"IxF2", b"IxFl"):
            d, ntotal, _ = self._header()
            self._flat(d, ntotal)
        elif fourcc == b"IHNf":
            d, ntotal, _ = self._header()
            self._vector(8, None, "level probabilities")
            levels_per, cum_at = self._vector(4, None, "neighbour counts")
            if not 2 <= levels_per <= 64:
                raise StoreError("its HNSW level table is invalid")
            _, levels_at = self._vector(4, ntotal, "level list")
            _, offsets_at = self._vector(8, ntotal + 1, "offset list")
            n_links = int(self._array(offsets_at + 8 * ntotal, "<u8", 1)[0])
            _, links_at = self._vector(4, n_links, "neighbour list")
            entry, max_level, _, _, _ = self._read("<iiiii")
            if ntotal and not (0 <= entry < ntotal and 0 <= max_level < levels_per - 1):
                raise StoreError("its HNSW entry point is invalid")
            # Graph structure: faiss trusts these blindly and reads out of bounds otherwise.
            cum = self._array(cum_at, "<i4", levels_per).astype(np.int64)
            levels = self._array(levels_at, "<i4", ntotal)
            if ntotal and (levels.min() < 1 or levels.max() > levels_per - 1):
                raise StoreError("its HNSW node levels are invalid")
            offsets = self._array(offsets_at, "<u8", ntotal + 1).astype(np.int64)
            if offsets[0] != 0 or not np.array_equal(np.diff(offsets), cum[levels]):
                raise StoreError("its HNSW neighbour offsets are inconsistent")
            links = self._array(links_at, "<i4", n_links)
            for start in range(0, n_links, 1 << 24):
                chunk = links[start : start + (1 << 24)]
                if chunk.min() < -1 or chunk.max() >= ntotal:
                    raise StoreError("its HNSW graph links point outside the index")
            inner, inner_n, inner_d = self.index()
            if inner not in (b"IxFI", b"IxF2", b"IxFl") or (inner_n, inner_d) != (ntotal, d):
                raise StoreError("its HNSW storage does not match the graph")
        elif fourcc == b"IwFl":
            d, ntotal, _ = self._header()
            nlist, nprobe = self._read("<QQ")
            if not 1 <= nprobe <= nlist:
                raise StoreError("its IVF nprobe/nlist are invalid")
            inner, inner_n, inner_d = self.index()
            if inner not in (b"IxFI", b"IxF2", b"IxFl") or (inner_n, inner_d) != (nlist, d):
                raise StoreError("its IVF quantizer does not match the lists")
            map_type = self._one("<b")
            if map_type not in (0, 1):
                raise StoreError("its IVF direct map type is unsupported")
            _, map_at = self._vector(8, ntotal if map_type == 1 else 0, "direct map")
            lists = self._fourcc()
            if lists != b"ilar":
                raise StoreError("its IVF inverted lists are not stored inline")
            stored_nlist, code_size = self._read("<QQ")
            if stored_nlist != nlist or code_size != 4 * d:
                raise StoreError("its IVF inverted lists do not match the index")
            kind = self._fourcc()
            count, at = self._vector(8, None, "list sizes")
            if count > 2 * nlist:
                raise StoreError("its IVF list sizes are invalid")
            end = self._handle.tell()
            self._handle.seek(at)
            sizes = np.frombuffer(self._handle.read(8 * count), dtype="<u8")
            self._handle.seek(end)
            if kind == b"full" and count == nlist:
                total = int(sizes.sum(dtype=np.uint64))
            elif kind == b"sprs" and count % 2 == 0:
                total = int(sizes[1::2].sum(dtype=np.uint64))
            else:
                raise StoreError("its IVF list sizes are invalid")
            if total != ntotal:
                raise StoreError("its IVF lists do not hold ntotal vectors")
            self._skip(total, code_size + 8)
            if map_type == 1 and ntotal:
                # Direct map entries are (list << 32 | offset); reconstruct() trusts them.
                entries = self._array(map_at, "<i8", ntotal)
                list_no, offset = entries >> 32, entries & 0xFFFFFFFF
                if kind == b"full":
                    per_list = sizes.astype(np.int64)
                else:
                    per_list = np.zeros(nlist, dtype=np.int64)
                    per_list[sizes[0::2].astype(np.int64)] = sizes[1::2].astype(np.int64)
                if list_no.min() < 0 or list_no.max() >= nlist or np.any(offset >= per_list[list_no]):
                    raise StoreError("its IVF direct map points outside the lists")
        else:
            raise StoreError(f"it holds an unsupported index type {fourcc!r}")
        return fourcc, ntotal, d


def _check_layout(path: Path) -> None:
    """Raise ``StoreError`` unless ``path`` is a complete Flat/HNSWFlat/IVFFlat FAISS file."""
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            _Layout(handle, size).index()
            if handle.tell() != size:
                raise StoreError("it has trailing bytes after the index")
    except StoreError as exc:
        raise StoreError(f"Vector index file {path} is corrupt or truncated: {exc}.") from None
    except (OSError, struct.error, ValueError, OverflowError) as exc:
        raise StoreError(f"Vector index file {path} is unreadable ({exc}).") from exc


# --------------------------------------------------------------------------- faiss glue

_faiss_module: ModuleType | None = None


def _faiss() -> ModuleType:
    """Import faiss on first use."""
    global _faiss_module
    if _faiss_module is None:
        import faiss as module

        _faiss_module = module
    return _faiss_module


# Batches up to this size are searched on one OpenMP thread (faiss itself switches to
# BLAS above 20 queries).  Measured on the 2-vCPU benchmark machine: one query against
# 10k vectors in IndexFlatIP takes 0.8 ms on 1 thread but 15 ms on 2, because faiss
# splits a single query over the database; HNSW and IVF single queries are serial anyway.
_SERIAL_SEARCH_MAX_QUERIES: Final = 16


def _parallel_threads() -> int:
    """Threads for building and batch search: usable cores, capped, or OMP_NUM_THREADS."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    limit = 8
    env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if env.isdigit() and int(env) > 0:
        limit = int(env)
    return max(1, min(cores, limit))


@contextmanager
def _omp_threads(count: int) -> Iterator[None]:
    """Run faiss calls of *this* thread with ``count`` OpenMP threads (the setting is per thread)."""
    f = _faiss()
    previous = int(f.omp_get_max_threads())
    if previous == count:
        yield
        return
    f.omp_set_num_threads(count)
    try:
        yield
    finally:
        f.omp_set_num_threads(previous)


def _as_matrix(array: object, what: str, dim: int | None) -> npt.NDArray[np.float32]:
    """Validate a 2-D float array and return it as C-contiguous float32."""
    if not isinstance(array, np.ndarray):
        raise StoreError(f"{what} must be a numpy array, got {type(array).__name__}.")
    if array.ndim != 2:
        raise StoreError(f"{what} must be a 2-D array (n, dim), got shape {array.shape}.")
    if not (np.issubdtype(array.dtype, np.floating) or array.size == 0):
        raise StoreError(f"{what} must have a float dtype, got {array.dtype}.")
    if array.shape[1] < 1:
        raise StoreError(f"{what} must have at least one column, got shape {array.shape}.")
    if dim is not None and array.shape[1] != dim:
        raise StoreError(f"{what} have dimension {array.shape[1]} but the store has {dim}.")
    return np.ascontiguousarray(array, dtype=np.float32)


def _squared_norms(matrix: npt.NDArray[np.float32], what: str) -> npt.NDArray[np.float32]:
    """Row squared norms, also the finiteness check (NaN/inf propagate; no (n, dim) temporaries)."""
    parts = [np.einsum("ij,ij->i", block, block) for block in _row_blocks(matrix)]
    squared: npt.NDArray[np.float32] = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    if not np.isfinite(squared).all():
        raise StoreError(f"{what} contain NaN or infinite values.")
    return squared


#: Rows per block when a large matrix is read piecewise (25 MiB at 384-d).
_BLOCK_ROWS = 16_384


def _row_blocks(matrix: npt.NDArray[np.float32]) -> Iterator[npt.NDArray[np.float32]]:
    """``matrix`` in blocks of rows. When it is a read-only file mapping (``np.load(...,
    mmap_mode="r")``), each block's pages are handed back to the kernel once used, so
    indexing a matrix bigger than memory costs the index, not the index plus the matrix."""
    if len(matrix) <= _BLOCK_ROWS:  # queries, small indexes: one block, nothing worth handing back
        yield matrix
        return
    mapping = _file_mapping(matrix)
    for start in range(0, len(matrix), _BLOCK_ROWS):
        block = matrix[start : start + _BLOCK_ROWS]
        yield block
        if mapping is not None:
            _release(mapping, block)


def _add_by_list(index: Any, vectors: npt.NDArray[np.float32]) -> None:
    """Fill a trained, empty IVF-Flat index with ``vectors``, each inverted list allocated once.

    FAISS's ``add`` appends entry by entry, so every list's buffer grows by doubling and
    at 1M vectors the build held up to twice the index. Here the coarse assignment is
    computed first (what ``add`` computes anyway), every list is sized exactly, and each
    row is written straight to its slot. The result is the same index as ``add``
    gives: the same entries, ids ascending within each list.
    """
    f = _faiss()
    n = len(vectors)
    nlist = int(index.nlist)
    assigned = np.empty(n, dtype=np.int64)
    start = 0
    for block in _row_blocks(vectors):
        _, nearest = index.quantizer.search(block, 1)
        assigned[start : start + len(block)] = nearest[:, 0]
        start += len(block)
    if (assigned < 0).any():
        raise StoreError("FAISS could not assign every vector to an inverted list.")
    counts = np.bincount(assigned, minlength=nlist)
    list_start = np.concatenate(([0], np.cumsum(counts)[:-1]))
    invlists = index.invlists
    for nonempty in np.flatnonzero(counts).tolist():
        invlists.resize(nonempty, int(counts[nonempty]))
    # Where each row goes in its list: ids ascending within a list, as plain add leaves them.
    order = np.argsort(assigned, kind="stable")
    slot = np.empty(n, dtype=np.int64)
    slot[order] = np.arange(n, dtype=np.int64)
    slot -= list_start[assigned]
    del order
    # Rows are read in file order (a gather by list would fault scattered pages of a
    # memory-mapped input, and the kernel maps their neighbours too); within a block the
    # rows of one list have consecutive slots, so each list is written in one run.
    start = 0
    for block in _row_blocks(vectors):
        stop = start + len(block)
        local = np.argsort(assigned[start:stop], kind="stable")
        ids = np.ascontiguousarray(local + start)
        rows = np.ascontiguousarray(block[local], dtype=np.float32)
        lists = assigned[ids]
        cut = np.concatenate(([0], np.flatnonzero(np.diff(lists)) + 1, [len(ids)])).tolist()
        for a, b in zip(cut[:-1], cut[1:], strict=True):
            invlists.update_entries(
                int(lists[a]), int(slot[ids[a]]), b - a, f.swig_ptr(ids[a:b]), f.swig_ptr(rows[a:b].view(np.uint8))
            )
        start = stop
    index.ntotal = n


def _take_rows(matrix: npt.NDArray[np.float32], rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
    """``matrix[rows]`` for sorted ``rows``, read block by block (see :func:`_row_blocks`)."""
    out = np.empty((len(rows), matrix.shape[1]), dtype=np.float32)
    start = filled = 0
    for block in _row_blocks(matrix):
        stop = start + len(block)
        lo, hi = np.searchsorted(rows, [start, stop])
        out[filled : filled + hi - lo] = block[rows[lo:hi] - start]
        filled += int(hi - lo)
        start = stop
    return out


def _file_mapping(array: np.ndarray) -> Any:
    """The read-only ``mmap.mmap`` behind ``array``, or None (never an anonymous or writable one)."""
    import mmap

    base: Any = array
    while base is not None and not isinstance(base, mmap.mmap):
        base = getattr(base, "_mmap", None) or getattr(base, "base", None)
    if base is None or not hasattr(base, "madvise"):
        return None
    try:
        writable = not memoryview(base).readonly
    except (ValueError, TypeError):  # a closed mapping
        return None
    return None if writable else base


def _release(mapping: Any, block: np.ndarray) -> None:
    """Drop the resident pages of ``block`` (inside the read-only file ``mapping``); they are re-read if touched."""
    import mmap

    start_address = np.frombuffer(mapping, dtype=np.uint8).ctypes.data
    offset = block.ctypes.data - start_address
    page = mmap.PAGESIZE
    first = (offset // page) * page
    length = offset + block.nbytes - first
    if first < 0 or first + length > len(mapping):
        return
    with suppress(OSError, ValueError, AttributeError):  # only a memory saving
        mapping.madvise(mmap.MADV_DONTNEED, first, length)


def _kind_of(index: faiss.Index) -> str:
    f = _faiss()
    # Exact types: subclasses (PQ/SQ/Panorama variants...) do not store vectors the same way.
    kind = {f.IndexHNSWFlat: "hnsw", f.IndexIVFFlat: "ivf", f.IndexFlatIP: "flat", f.IndexFlat: "flat"}
    found = kind.get(type(index))
    if found is not None:
        return found
    raise StoreError(f"Unsupported FAISS index type {type(index).__name__} in vector store.")


def _spec_of(index: faiss.Index) -> StoreSpec:
    """Recover the spec (build and current search parameters) from a FAISS index."""
    kind = _kind_of(index)
    if kind == "hnsw":
        hnsw = index.hnsw  # type: ignore[attr-defined]
        # cum_nneighbor_per_level = [0, 2M, 3M, ...]: level 0 has 2*M links.
        m = int(hnsw.cum_nneighbor_per_level.at(1)) // 2
        return StoreSpec(
            "hnsw",
            {"M": m, "ef_construction": int(hnsw.efConstruction), "ef_search": int(hnsw.efSearch)},
        )
    if kind == "ivf":
        return StoreSpec(
            "ivf",
            {"nlist": int(index.nlist), "nprobe": int(index.nprobe)},  # type: ignore[attr-defined]
        )
    return FLAT_SPEC


def _apply_search_params(index: faiss.Index, spec: StoreSpec) -> None:
    if spec.kind == "hnsw":
        index.hnsw.efSearch = spec.params["ef_search"]  # type: ignore[attr-defined]
    elif spec.kind == "ivf":
        index.nprobe = spec.params["nprobe"]  # type: ignore[attr-defined]


def _search_params(spec: StoreSpec) -> faiss.SearchParameters | None:
    f = _faiss()
    params: faiss.SearchParameters | None = None
    if spec.kind == "hnsw":
        params = f.SearchParametersHNSW(efSearch=spec.params["ef_search"])
    elif spec.kind == "ivf":
        params = f.SearchParametersIVF(nprobe=spec.params["nprobe"])
    return params


def _new_index(vectors: npt.NDArray[np.float32], spec: StoreSpec) -> faiss.Index:
    f = _faiss()
    n, dim = vectors.shape
    index: faiss.Index
    if spec.kind == "flat":
        index = f.IndexFlatIP(dim)
    elif spec.kind == "hnsw":
        hnsw_index = f.IndexHNSWFlat(dim, spec.params["M"], f.METRIC_INNER_PRODUCT)
        hnsw_index.hnsw.efConstruction = spec.params["ef_construction"]
        index = hnsw_index
    else:
        nlist = spec.params["nlist"]
        if n < nlist:
            raise StoreError(f"An IVF index with nlist={nlist} needs at least {nlist} vectors, got {n}.")
        quantizer = f.IndexFlatIP(dim)
        ivf_index = f.IndexIVFFlat(quantizer, dim, nlist, f.METRIC_INNER_PRODUCT)
        ivf_index.cp.max_points_per_centroid = _IVF_TRAIN_POINTS_PER_LIST
        ivf_index.cp.seed = _IVF_TRAIN_SEED
        train = vectors
        limit = nlist * _IVF_TRAIN_POINTS_PER_LIST
        if n > limit:
            rng = np.random.default_rng(_IVF_TRAIN_SEED)
            train = _take_rows(vectors, np.sort(rng.choice(n, size=limit, replace=False)))
        ivf_index.train(train)
        del train
        index = ivf_index
    if spec.kind == "ivf" and n > _BLOCK_ROWS:
        _add_by_list(index, vectors)
    else:
        for block in _row_blocks(vectors):
            index.add(block)
    if spec.kind == "ivf":
        # Array direct map: id -> (list, offset), so reconstruct() works per id.
        index.make_direct_map()  # type: ignore[attr-defined]
    _apply_search_params(index, spec)
    return index


class VectorStore:
    """An immutable FAISS index over L2-normalised float32 vectors (cosine = inner product).

    Create with :meth:`build` or :meth:`load`; ids are ``0..ntotal-1`` in insertion order.
    Search parameters (``ef_search``/``nprobe``) come from :attr:`spec` and are passed
    to FAISS per call, so searching is safe from several threads at once and
    :meth:`with_search_params` can share one index between settings.
    """

    __slots__ = ("_dim", "_index", "_params", "_spec")

    def __init__(self, index: faiss.Index, spec: StoreSpec) -> None:
        """Wrap an existing FAISS index; use :meth:`build` or :meth:`load` instead."""
        self._index = index
        self._spec = spec
        self._dim = int(index.d)
        self._params = _search_params(spec)

    def __repr__(self) -> str:
        return f"VectorStore(kind={self._spec.kind!r}, ntotal={self.ntotal}, dim={self._dim})"

    @property
    def ntotal(self) -> int:
        """Number of stored vectors."""
        return int(self._index.ntotal)

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return self._dim

    @property
    def spec(self) -> StoreSpec:
        """The index spec, with the search parameters currently in force."""
        return self._spec

    def with_search_params(self, **params: int) -> VectorStore:
        """A store sharing this index but searching with other ``ef_search``/``nprobe``."""
        return VectorStore(self._index, self._spec.with_search_params(**params))

    @classmethod
    def build(cls, vectors: np.ndarray, spec: StoreSpec | None = None) -> VectorStore:
        """Index ``vectors`` (``(n, dim)``, L2-normalised); ``spec=None`` uses :func:`choose_spec`."""
        matrix = _as_matrix(vectors, "Vectors", None)
        n, dim = matrix.shape
        if n:
            # All-zero rows (cosine 0 with everything) are tolerated; anything else must be unit length.
            norms = np.sqrt(_squared_norms(matrix, "Vectors"))
            off = np.abs(norms - 1.0)
            off[norms == 0.0] = 0.0
            worst = float(off.max())
            if worst > _NORM_TOLERANCE:
                raise StoreError(f"Vectors must be L2-normalised, but a norm deviates from 1 by {worst:.3g}.")
        if spec is None:
            spec = choose_spec(n, dim)
        try:
            with _omp_threads(_parallel_threads()):
                index = _new_index(matrix, spec)
        except StoreError:
            raise
        except (RuntimeError, MemoryError) as exc:
            raise StoreError(f"FAISS failed to build a {spec.kind!r} index: {exc}.") from exc
        return cls(index, spec)

    def save(self, path: Path) -> None:
        """Write the index to ``path`` as one FAISS file, atomically (temp file + rename).

        Stores loaded with ``mmap=True`` from the old file keep working: the rename
        leaves their mapped inode untouched.
        """
        path = Path(path)
        f = _faiss()
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            if not path.parent.is_dir():
                raise StoreError(f"Cannot save vector index: {path.parent} is not a directory.")
            _apply_search_params(self._index, self._spec)  # recorded in the file
            f.write_index(self._index, str(tmp))
            os.replace(tmp, path)
        except (RuntimeError, OSError) as exc:
            raise StoreError(f"Could not write vector index to {path} ({first_line(exc)}).") from exc
        finally:
            tmp.unlink(missing_ok=True)

    def write(self, sink: Callable[[bytes], object]) -> None:
        """Serialise the index (the same bytes :meth:`save` writes) into ``sink``, block by block.

        An exception ``sink`` raises (``OSError`` for a full disk) propagates unchanged.
        """
        f = _faiss()
        _apply_search_params(self._index, self._spec)  # recorded in the file
        try:
            f.write_index(self._index, f.PyCallbackIOWriter(lambda block: sink(bytes(block))))
        except RuntimeError as exc:
            raise StoreError(f"Could not serialise the vector index ({first_line(exc)}).") from exc

    @classmethod
    def load(cls, path: Path, *, mmap: bool = True, spec: StoreSpec | None = None) -> VectorStore:
        """Read an index written by :meth:`save`.

        With ``mmap=True`` the vectors (and the HNSW graph / IVF lists) stay in the page
        cache, shared and reclaimable, instead of being copied into process memory:
        faiss ``IO_FLAG_MMAP_IFC | IO_FLAG_READ_ONLY``, which faiss 1.15.1 honours for
        IndexFlatIP, IndexHNSWFlat and IndexIVFFlat (1M x 384: 11-15 MB private memory
        after load instead of 1.5-1.7 GB).  The legacy ``IO_FLAG_MMAP`` maps only IVF
        lists.  A faiss without ``IO_FLAG_MMAP_IFC`` reads the file into memory instead.
        The file must not be modified in place while the store is alive; :meth:`save`
        always replaces files atomically.

        The file's structure is checked before faiss parses it, because faiss's mmap
        reader crashes the process on truncated files instead of raising.

        ``spec``, if given, must match the file's kind and build parameters; its
        search parameters (``ef_search``/``nprobe``) are applied.  Without it the
        parameters stored in the file are used.
        """
        path = Path(path)
        if not path.is_file():
            raise StoreError(f"Vector index file {path} does not exist.")
        _check_layout(path)
        f = _faiss()
        mmap_flag = getattr(f, "IO_FLAG_MMAP_IFC", None)
        flags = (int(mmap_flag) | int(f.IO_FLAG_READ_ONLY)) if mmap and mmap_flag is not None else 0
        try:
            index = f.read_index(str(path), flags)
        except Exception as exc:  # faiss raises RuntimeError; bad_alloc etc. map elsewhere
            raise StoreError(
                f"Vector index file {path} is corrupt, truncated or unreadable ({first_line(exc)})."
            ) from exc
        if index.metric_type != f.METRIC_INNER_PRODUCT:
            raise StoreError(f"Vector index file {path} does not use inner-product similarity.")
        stored = _spec_of(index)
        if not index.is_trained or index.ntotal < 0 or index.d < 1:
            raise StoreError(f"Vector index file {path} holds an untrained or invalid index.")
        if spec is not None:
            if spec.kind != stored.kind:
                raise StoreError(f"Vector index file {path} holds a {stored.kind!r} index, not {spec.kind!r}.")
            for name, value in stored.params.items():
                if name not in _SEARCH_PARAMS and spec.params[name] != value:
                    raise StoreError(
                        f"Vector index file {path} was built with {name}={value}, not {spec.params[name]}."
                    )
            _apply_search_params(index, spec)
            stored = spec
        return cls(index, stored)

    def search(self, queries: np.ndarray, k: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """Top-``k`` by cosine for each row of ``queries`` (``(nq, dim)``).

        Returns ``(scores, ids)``, both ``(nq, k)``, best first.  Where fewer than ``k``
        results exist (``k > ntotal``, empty store, or an approximate index finding
        fewer) the id is ``-1`` and the score ``-inf``.
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise StoreError(f"k must be a non-negative integer, got {k!r}.")
        k = int(k)
        matrix = _as_matrix(queries, "Queries", self._dim)
        _squared_norms(matrix, "Queries")
        nq = matrix.shape[0]
        scores = np.full((nq, k), -np.inf, dtype=np.float32)
        ids = np.full((nq, k), -1, dtype=np.int64)
        kk = min(k, self.ntotal)
        if nq == 0 or kk == 0:
            return scores, ids
        try:
            threads = 1 if nq <= _SERIAL_SEARCH_MAX_QUERIES else _parallel_threads()
            with _omp_threads(threads):
                found_scores, found_ids = self._index.search(matrix, kk, params=self._params)
        except (RuntimeError, MemoryError) as exc:
            raise StoreError(f"FAISS search failed: {first_line(exc)}.") from exc
        missing = (found_ids < 0) | (found_ids >= self.ntotal)
        found_scores[missing] = -np.inf
        found_ids[missing] = -1
        scores[:, :kk] = found_scores
        ids[:, :kk] = found_ids
        return scores, ids

    def vectors(self) -> npt.NDArray[np.float32]:
        """All stored vectors, exactly as added, ``(ntotal, dim)`` float32 in id order."""
        n = self.ntotal
        if n == 0:
            return np.zeros((0, self._dim), dtype=np.float32)
        try:
            out = self._index.reconstruct_n(0, n)
        except (RuntimeError, MemoryError) as exc:
            raise StoreError(f"Could not read vectors back from the index: {exc}.") from exc
        return np.ascontiguousarray(out, dtype=np.float32).reshape(n, self._dim)
