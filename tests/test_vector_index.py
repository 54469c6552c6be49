"""One contract suite for every VectorIndex: the FAISS store (flat and IVF) and the exact numpy index."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from indexer.errors import IndexFileError
from indexer.store import StoreError, StoreSpec, VectorStore
from indexer.vector_index import Candidates, ExactIndex, VectorIndex, top_candidates


def unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    out: np.ndarray = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


BASE = unit(np.random.default_rng(11).standard_normal((120, 12)))
QUERIES = unit(np.random.default_rng(12).standard_normal((5, 12)))

# IVF probing every list is exact, so the same expectations hold for it.
MAKERS: dict[str, Callable[[np.ndarray], VectorIndex]] = {
    "faiss-flat": lambda v: VectorStore.build(v, StoreSpec("flat")),
    "faiss-ivf": lambda v: VectorStore.build(v, StoreSpec("ivf", {"nlist": 4, "nprobe": 4})),
    "exact-numpy": lambda v: ExactIndex(v.copy()),
}


@pytest.fixture(params=sorted(MAKERS))
def make(request: pytest.FixtureRequest) -> Callable[[np.ndarray], VectorIndex]:
    return MAKERS[request.param]


def brute(base: np.ndarray, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[int]:
    scores = base @ query
    ids = np.arange(len(base)) if allowed is None else np.asarray(allowed)
    return sorted(ids.tolist(), key=lambda i: (-scores[i], i))[:k]


def test_it_is_a_vector_index(make: Callable[[np.ndarray], VectorIndex]) -> None:
    index = make(BASE)
    assert isinstance(index, VectorIndex)
    assert index.ntotal == 120 and index.dim == 12


def test_search_returns_the_exact_top_k_best_first(make: Callable[[np.ndarray], VectorIndex]) -> None:
    found = make(BASE).search(QUERIES, 7)
    assert isinstance(found, Candidates) and found.ids.shape == found.scores.shape == (5, 7)
    assert found.ids.dtype == np.int64 and found.scores.dtype == np.float32
    for row, query in enumerate(QUERIES):
        assert found.ids[row].tolist() == brute(BASE, query, 7)
        np.testing.assert_allclose(found.scores[row], BASE[found.ids[row]] @ query, atol=1e-5)
        assert (np.diff(found.scores[row]) <= 0).all()


def test_only_allowed_ids_are_returned_and_missing_ones_are_padded(make: Callable[[np.ndarray], VectorIndex]) -> None:
    allowed = np.array([3, 17, 40, 41, 99], dtype=np.int64)
    found = make(BASE).search(QUERIES, 8, allowed_ids=allowed)
    for row, query in enumerate(QUERIES):
        one = found.for_query(row)
        assert one.ids.tolist() == brute(BASE, query, 8, allowed)
        assert (found.ids[row, 5:] == -1).all() and np.isneginf(found.scores[row, 5:]).all()
    nothing = make(BASE).search(QUERIES, 3, allowed_ids=np.zeros(0, dtype=np.int64))
    assert (nothing.ids == -1).all()


def test_fetch_gives_the_stored_vectors_in_the_order_asked(make: Callable[[np.ndarray], VectorIndex]) -> None:
    index = make(BASE)
    ids = np.array([5, 0, 119, 5], dtype=np.int64)
    np.testing.assert_array_equal(index.fetch(ids), BASE[ids])
    assert index.fetch(np.zeros(0, dtype=np.int64)).shape == (0, 12)
    with pytest.raises(IndexFileError):
        index.fetch(np.array([120], dtype=np.int64))
    with pytest.raises(IndexFileError):
        index.fetch(np.array([-1], dtype=np.int64))


def test_add_appends_rows_and_remove_closes_the_gap(make: Callable[[np.ndarray], VectorIndex]) -> None:
    index = make(BASE[:100])
    with pytest.raises(IndexFileError):
        index.add(np.array([7], dtype=np.int64), BASE[100:101])  # not the next row
    index.add(np.arange(100, 120, dtype=np.int64), BASE[100:120])
    assert index.ntotal == 120
    assert index.search(BASE[110:111], 1).ids[0, 0] == 110
    index.remove(np.array([0, 50], dtype=np.int64))
    assert index.ntotal == 118
    kept = np.delete(BASE, [0, 50], axis=0)
    np.testing.assert_array_equal(index.fetch(np.arange(118, dtype=np.int64)), kept)
    assert index.search(kept[60:61], 1).ids[0, 0] == 60


def test_a_memory_mapped_store_is_read_only(tmp_path: Path) -> None:
    VectorStore.build(BASE).save(tmp_path / "v.faiss")
    mapped = VectorStore.load(tmp_path / "v.faiss", mmap=True)
    with pytest.raises(StoreError, match="read-only"):
        mapped.add(np.array([120], dtype=np.int64), BASE[:1])
    with pytest.raises(StoreError, match="read-only"):
        mapped.remove(np.array([0], dtype=np.int64))
    assert mapped.ntotal == 120


def test_top_candidates_breaks_ties_by_id_and_respects_allowed() -> None:
    scores = np.array([0.5, 0.9, 0.5, 0.9, 0.1], dtype=np.float32)
    assert top_candidates(scores, 3).ids.tolist() == [1, 3, 0]
    assert top_candidates(scores, 10).ids.tolist() == [1, 3, 0, 2, 4]
    assert top_candidates(scores, 2, np.array([4, 2, 0])).ids.tolist() == [0, 2]
    assert len(top_candidates(scores, 0)) == 0
