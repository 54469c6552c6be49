"""The FAISS vector store: build, save, memory-mapped load, and the :class:`~indexer.vector_index.VectorIndex` calls.

Vectors are float32, L2-normalised, so inner product equals cosine similarity.
Ids are ``0..n-1`` in insertion order (a chunk's row in ``chunks.jsonl``). Only
index types that keep the vectors exactly are used (``IndexFlatIP``,
``IndexIVFFlat``), so :meth:`VectorStore.fetch` and :meth:`VectorStore.vectors`
hand the embeddings back (incremental rebuilds, candidate scoring).

Only numpy is imported at module import time; faiss is imported on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from ..errors import first_line
from ..fileio import atomic_path
from ..vector_index import Candidates
from .blocks import as_matrix, squared_norms
from .faiss_index import apply_search_params, new_index, search_parameters, spec_of
from .faiss_runtime import SERIAL_SEARCH_MAX_QUERIES, faiss_module, omp_threads, parallel_threads
from .layout import check_layout
from .spec import StoreError, StoreSpec, choose_spec

if TYPE_CHECKING:
    import faiss

# Norm tolerance for "L2-normalised" input (float32 normalisation error is ~1e-7).
_NORM_TOLERANCE: Final = 1e-3


def _check_unit(matrix: npt.NDArray[np.float32]) -> None:
    """All-zero rows (cosine 0 with everything) are tolerated; anything else must be unit length."""
    if not len(matrix):
        return
    norms = np.sqrt(squared_norms(matrix, "Vectors"))
    off = np.abs(norms - 1.0)
    off[norms == 0.0] = 0.0
    worst = float(off.max())
    if worst > _NORM_TOLERANCE:
        raise StoreError(f"Vectors must be L2-normalised, but a norm deviates from 1 by {worst:.3g}.")


def _ids(ids: object, ntotal: int) -> npt.NDArray[np.int64]:
    array = np.asarray(ids)
    if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
        raise StoreError(f"ids must be a 1-D integer array, got shape {array.shape} of {array.dtype}.")
    array = np.ascontiguousarray(array, dtype=np.int64)
    if len(array) and (int(array.min()) < 0 or int(array.max()) >= ntotal):
        raise StoreError(f"An id is outside 0..{ntotal - 1}.")
    return array


class VectorStore:
    """A FAISS index over L2-normalised float32 vectors (cosine = inner product).

    Create with :meth:`build` or :meth:`load`; ids are ``0..ntotal-1`` in insertion
    order. Search parameters (``nprobe``) come from :attr:`spec` and are passed to
    FAISS per call, so searching is safe from several threads at once. :meth:`add`
    and :meth:`remove` (the :class:`~indexer.vector_index.VectorIndex` protocol)
    change the store and must not run while another thread searches it; the
    indexer never calls them (a build writes a new store), and a memory-mapped
    store refuses them.
    """

    __slots__ = ("_dim", "_index", "_mapped", "_spec")

    def __init__(self, index: faiss.Index, spec: StoreSpec, *, mapped: bool = False) -> None:
        """Wrap an existing FAISS index; use :meth:`build` or :meth:`load` instead."""
        self._index = index
        self._spec = spec
        self._dim = int(index.d)
        self._mapped = mapped

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
        """The index spec, with the search parameters in force."""
        return self._spec

    @classmethod
    def build(cls, vectors: np.ndarray, spec: StoreSpec | None = None) -> VectorStore:
        """Index ``vectors`` (``(n, dim)``, L2-normalised); ``spec=None`` uses :func:`choose_spec`."""
        matrix = as_matrix(vectors, "Vectors", None)
        n, dim = matrix.shape
        _check_unit(matrix)
        if spec is None:
            spec = choose_spec(n, dim)
        try:
            with omp_threads(parallel_threads()):
                index = new_index(matrix, spec)
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
        f = faiss_module()
        if not path.parent.is_dir():
            raise StoreError(f"Cannot save vector index: {path.parent} is not a directory.")
        try:
            with atomic_path(path) as tmp:
                apply_search_params(self._index, self._spec)  # recorded in the file
                f.write_index(self._index, str(tmp))
        except (RuntimeError, OSError) as exc:
            raise StoreError(f"Could not write vector index to {path} ({first_line(exc)}).") from exc

    def write(self, sink: Callable[[bytes], object]) -> None:
        """Serialise the index (the same bytes :meth:`save` writes) into ``sink``, block by block.

        An exception ``sink`` raises (``OSError`` for a full disk) propagates unchanged.
        """
        f = faiss_module()
        apply_search_params(self._index, self._spec)  # recorded in the file
        try:
            f.write_index(self._index, f.PyCallbackIOWriter(lambda block: sink(bytes(block))))
        except RuntimeError as exc:
            raise StoreError(f"Could not serialise the vector index ({first_line(exc)}).") from exc

    @classmethod
    def load(cls, path: Path, *, mmap: bool = True) -> VectorStore:
        """Read an index written by :meth:`save`, with the search parameters stored in it.

        With ``mmap=True`` the vectors (and the IVF lists) stay in the page cache,
        shared and reclaimable, instead of being copied into process memory: faiss
        ``IO_FLAG_MMAP_IFC | IO_FLAG_READ_ONLY``, which faiss 1.15.1 honours for
        IndexFlatIP and IndexIVFFlat (1M x 384: 11-15 MB private memory after load
        instead of 1.5 GB). A faiss without ``IO_FLAG_MMAP_IFC`` reads the file into
        memory instead. The file must not be modified in place while the store is
        alive; :meth:`save` always replaces files atomically.

        The file's structure is checked before faiss parses it, because faiss's mmap
        reader crashes the process on truncated files instead of raising.
        """
        path = Path(path)
        if not path.is_file():
            raise StoreError(f"Vector index file {path} does not exist.")
        check_layout(path)
        f = faiss_module()
        mmap_flag = getattr(f, "IO_FLAG_MMAP_IFC", None)
        mapped = mmap and mmap_flag is not None
        flags = (int(mmap_flag) | int(f.IO_FLAG_READ_ONLY)) if mmap_flag is not None and mapped else 0
        try:
            index = f.read_index(str(path), flags)
        except Exception as exc:  # faiss raises RuntimeError; bad_alloc etc. map elsewhere
            raise StoreError(
                f"Vector index file {path} is corrupt, truncated or unreadable ({first_line(exc)})."
            ) from exc
        if index.metric_type != f.METRIC_INNER_PRODUCT:
            raise StoreError(f"Vector index file {path} does not use inner-product similarity.")
        stored = spec_of(index)
        if not index.is_trained or index.ntotal < 0 or index.d < 1:
            raise StoreError(f"Vector index file {path} holds an untrained or invalid index.")
        return cls(index, stored, mapped=mapped)

    def search(self, queries: np.ndarray, k: int, allowed_ids: npt.NDArray[np.int64] | None = None) -> Candidates:
        """Top-``k`` by cosine for each row of ``queries`` (``(nq, dim)``), ``(nq, k)`` arrays, best first.

        Where fewer than ``k`` results exist (``k > ntotal``, empty store, a filter,
        or an IVF index probing too few lists) the id is ``-1`` and the score ``-inf``.
        ``allowed_ids`` restricts the search to those ids (a FAISS ``IDSelector``;
        the others never compete).
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise StoreError(f"k must be a non-negative integer, got {k!r}.")
        k = int(k)
        matrix = as_matrix(queries, "Queries", self._dim)
        squared_norms(matrix, "Queries")
        nq = matrix.shape[0]
        scores = np.full((nq, k), -np.inf, dtype=np.float32)
        ids = np.full((nq, k), -1, dtype=np.int64)
        kk = min(k, self.ntotal)
        selector: Any = None
        if allowed_ids is not None:
            allowed = _ids(allowed_ids, self.ntotal)
            kk = min(kk, len(allowed))
            selector = faiss_module().IDSelectorBatch(allowed) if kk else None
        if nq == 0 or kk == 0:
            return Candidates(ids, scores)
        try:
            threads = 1 if nq <= SERIAL_SEARCH_MAX_QUERIES else parallel_threads()
            with omp_threads(threads):
                params = search_parameters(self._spec, selector)
                found_scores, found_ids = self._index.search(matrix, kk, params=params)
        except (RuntimeError, MemoryError) as exc:
            raise StoreError(f"FAISS search failed: {first_line(exc)}.") from exc
        missing = (found_ids < 0) | (found_ids >= self.ntotal)
        found_scores[missing] = -np.inf
        found_ids[missing] = -1
        scores[:, :kk] = found_scores
        ids[:, :kk] = found_ids
        return Candidates(ids, scores)

    def fetch(self, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        """The stored vectors of ``ids``, exactly as added, ``(len(ids), dim)``."""
        rows = _ids(ids, self.ntotal)
        if not len(rows):
            return np.zeros((0, self._dim), dtype=np.float32)
        try:
            out = self._index.reconstruct_batch(rows)
        except (RuntimeError, MemoryError) as exc:
            raise StoreError(f"Could not read vectors back from the index: {first_line(exc)}.") from exc
        return np.ascontiguousarray(out, dtype=np.float32).reshape(len(rows), self._dim)

    def all_scores(self, query: npt.NDArray[np.float32]) -> npt.NDArray[np.float32] | None:
        """The cosine of every stored vector with one unit ``query`` (``(dim,)``), in id order, for a flat
        index; None for an IVF index (search it).

        FAISS's own inner-product kernel over the index's own memory (mapped or not): the same float32
        values a search gives, without the search's heap of ``ntotal`` results (13,627 chunks: 0.75
        against 2.1 ms). Numpy's product over the mapped vectors is slower still (1.9 ms): FAISS's
        file layout leaves them unaligned."""
        f = faiss_module()
        n = self.ntotal
        if self._spec.kind != "flat":
            return None
        vector = np.ascontiguousarray(as_matrix(query[None, :], "Queries", self._dim)[0], dtype=np.float32)
        out = np.empty(n, dtype=np.float32)
        if n:
            flat = f.downcast_index(self._index)
            f.fvec_inner_products_ny(f.swig_ptr(out), f.swig_ptr(vector), flat.get_xb(), self._dim, n)
        return out

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

    def _check_writable(self) -> None:
        if self._mapped:
            raise StoreError("A memory-mapped vector store is read-only; build a new one instead.")

    def add(self, ids: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32]) -> None:
        """Append ``vectors`` (L2-normalised) as ids ``ntotal, ntotal+1, ...`` (ids are rows)."""
        self._check_writable()
        rows = np.asarray(ids, dtype=np.int64)
        if not np.array_equal(rows, np.arange(self.ntotal, self.ntotal + len(rows))):
            raise StoreError(f"New ids must be the next rows, {self.ntotal} onwards.")
        matrix = as_matrix(vectors, "Vectors", self._dim)
        if len(matrix) != len(rows):
            raise StoreError(f"Got {len(rows)} ids for {len(matrix)} vectors.")
        _check_unit(matrix)
        try:
            self._index.add(matrix)
        except (RuntimeError, MemoryError) as exc:
            raise StoreError(f"FAISS could not add the vectors: {first_line(exc)}.") from exc

    def remove(self, ids: npt.NDArray[np.int64]) -> None:
        """Drop the rows ``ids``; later rows move down. The index is rebuilt with the same spec."""
        self._check_writable()
        kept = np.delete(self.vectors(), _ids(ids, self.ntotal), axis=0)
        with omp_threads(parallel_threads()):
            self._index = new_index(kept, self._spec)
