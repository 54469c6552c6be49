"""What search needs from vector storage: the :class:`VectorIndex` protocol and its results.

Ids are int64 row numbers: a chunk's row in ``chunks.jsonl`` (the FAISS store,
:class:`indexer.store.VectorStore`) or a line's row in ``lines.json`` (the line
vectors, :class:`ExactIndex`). Vectors are L2-normalised float32, so scores are
cosines. Another engine (a remote vector database) can stand behind the same
protocol; ``tests/test_vector_index.py`` runs one contract suite against every
implementation.

Only numpy is needed, and only inside the functions, so importing this module
stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .errors import IndexFileError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["Candidates", "ExactIndex", "VectorIndex", "top_candidates"]


@dataclass(frozen=True)
class Candidates:
    """Search results, best first: ``ids`` (int64) and ``scores`` (float32) of the same shape.

    :meth:`VectorIndex.search` returns ``(nq, k)`` arrays, one row per query, padded
    with id ``-1`` and score ``-inf`` where fewer than ``k`` were found;
    :meth:`for_query` gives one query's found candidates as 1-D arrays.
    """

    ids: npt.NDArray[np.int64]
    scores: npt.NDArray[np.float32]

    def for_query(self, row: int = 0) -> Candidates:
        """Query ``row``'s candidates (padding dropped), 1-D, best first."""
        ids, scores = self.ids[row], self.scores[row]
        found = ids >= 0
        return Candidates(ids[found], scores[found])

    def __len__(self) -> int:
        return len(self.ids)


@runtime_checkable
class VectorIndex(Protocol):
    """Vectors addressed by int64 ids, searched by cosine (inner product of unit vectors)."""

    @property
    def ntotal(self) -> int:
        """How many vectors are stored (ids ``0..ntotal-1``)."""
        ...

    @property
    def dim(self) -> int:
        """The vectors' dimension."""
        ...

    def search(
        self, queries: npt.NDArray[np.float32], k: int, allowed_ids: npt.NDArray[np.int64] | None = None
    ) -> Candidates:
        """The ``k`` best ids for each row of ``queries`` (``(nq, dim)``); only ``allowed_ids`` if given."""
        ...

    def fetch(self, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        """The stored vectors of ``ids``, ``(len(ids), dim)``, in the order asked."""
        ...

    def add(self, ids: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32]) -> None:
        """Store ``vectors`` under ``ids``; ids are rows, so they must be ``ntotal, ntotal+1, ...``."""
        ...

    def remove(self, ids: npt.NDArray[np.int64]) -> None:
        """Drop the rows ``ids``; later rows move down to close the gap (as rows of a file do)."""
        ...


def top_candidates(
    scores: npt.NDArray[np.float32], k: int, allowed_ids: npt.NDArray[np.int64] | None = None
) -> Candidates:
    """The ``k`` highest of one score per id (1-D), best first, ties by id; ``argpartition``, not a full sort."""
    import numpy as np

    ids = np.arange(len(scores), dtype=np.int64) if allowed_ids is None else np.asarray(allowed_ids, dtype=np.int64)
    values = scores[ids]
    if k <= 0:
        return Candidates(ids[:0], np.zeros(0, dtype=np.float32))
    if k < len(ids):
        keep = np.argpartition(-values, k - 1)[:k]
        ids, values = ids[keep], values[keep]
    order = np.lexsort((ids, -values))
    return Candidates(ids[order], np.asarray(values[order], dtype=np.float32))


def _check_ids(ids: object, ntotal: int) -> npt.NDArray[np.int64]:
    import numpy as np

    array = np.asarray(ids)
    if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
        raise IndexFileError(f"ids must be a 1-D integer array, got shape {array.shape} of {array.dtype}")
    array = array.astype(np.int64, copy=False)
    if len(array) and (int(array.min()) < 0 or int(array.max()) >= ntotal):
        raise IndexFileError(f"an id is outside 0..{ntotal - 1}")
    return array


class ExactIndex:
    """Exact search over a numpy matrix (the line vectors, ``lines.npy``): one matrix-vector product per query.

    The matrix may be memory-mapped; it is only read, and :meth:`add`/:meth:`remove`
    replace it with a new array.
    """

    __slots__ = ("_vectors",)

    def __init__(self, vectors: npt.NDArray[np.float32]) -> None:
        import numpy as np

        if vectors.ndim != 2 or vectors.dtype != np.float32:
            raise IndexFileError(f"vectors must be a 2-D float32 array, got shape {vectors.shape} of {vectors.dtype}")
        self._vectors = vectors

    @property
    def ntotal(self) -> int:
        return int(self._vectors.shape[0])

    @property
    def dim(self) -> int:
        return int(self._vectors.shape[1])

    @property
    def vectors(self) -> npt.NDArray[np.float32]:
        """The whole matrix, rows in id order (read-only use)."""
        return self._vectors

    def scores(self, query: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """The cosine of every stored vector with one ``query`` (``(dim,)``), in id order."""
        import numpy as np

        if self.ntotal == 0:
            return np.zeros(0, dtype=np.float32)
        return np.asarray(self._vectors @ query, dtype=np.float32)

    def search(
        self, queries: npt.NDArray[np.float32], k: int, allowed_ids: npt.NDArray[np.int64] | None = None
    ) -> Candidates:
        import numpy as np

        if isinstance(k, bool) or k < 0 or queries.ndim != 2 or queries.shape[1] != self.dim:
            raise IndexFileError(f"cannot search {queries.shape} queries for k={k} in {self.dim}-d vectors")
        allowed = None if allowed_ids is None else _check_ids(allowed_ids, self.ntotal)
        ids = np.full((len(queries), k), -1, dtype=np.int64)
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        for row, query in enumerate(queries):
            best = top_candidates(self.scores(np.asarray(query, dtype=np.float32)), k, allowed)
            ids[row, : len(best)] = best.ids
            scores[row, : len(best)] = best.scores
        return Candidates(ids, scores)

    def fetch(self, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        import numpy as np

        return np.ascontiguousarray(self._vectors[_check_ids(ids, self.ntotal)], dtype=np.float32)

    def add(self, ids: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32]) -> None:
        import numpy as np

        ids = np.asarray(ids, dtype=np.int64)
        if not np.array_equal(ids, np.arange(self.ntotal, self.ntotal + len(ids))):
            raise IndexFileError(f"new ids must be the next rows, {self.ntotal} onwards")
        if vectors.shape != (len(ids), self.dim):
            raise IndexFileError(f"expected {len(ids)} vectors of {self.dim} dimensions, got {vectors.shape}")
        self._vectors = np.concatenate([self._vectors, np.asarray(vectors, dtype=np.float32)])

    def remove(self, ids: npt.NDArray[np.int64]) -> None:
        import numpy as np

        self._vectors = np.delete(self._vectors, _check_ids(ids, self.ntotal), axis=0)
