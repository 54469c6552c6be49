"""Tests for indexer.store: exact and IVF search, persistence, corruption, block-wise building."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from indexer.store import StoreError, StoreSpec, VectorStore, choose_spec

IVF = StoreSpec("ivf", {"nlist": 32, "nprobe": 8})


def unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    out: np.ndarray = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def clustered(n: int, dim: int, seed: int, centres: int = 50) -> np.ndarray:
    """Normalised Gaussian-mixture vectors: ANN indexes need neighbour structure."""
    rng = np.random.default_rng(seed)
    world = np.random.default_rng(12345).standard_normal((centres, dim))
    x = world[rng.integers(0, centres, n)] + 0.6 * rng.standard_normal((n, dim))
    return unit(x)


def brute(base: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = queries @ base.T
    ids = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, ids, axis=1), ids


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found.tolist(), truth.tolist())]))


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return clustered(2000, 32, seed=1), clustered(100, 32, seed=2)


# ----------------------------------------------------------------------------- exact search


def test_flat_equals_brute_force() -> None:
    rng = np.random.default_rng(0)
    base, queries = unit(rng.standard_normal((200, 16))), unit(rng.standard_normal((7, 16)))
    store = VectorStore.build(base)
    assert store.spec.kind == "flat" and store.ntotal == 200 and store.dim == 16
    found = store.search(queries, 10)
    scores, ids = found.scores, found.ids
    want_scores, want_ids = brute(base, queries, 10)
    assert scores.dtype == np.float32 and ids.dtype == np.int64 and ids.shape == (7, 10)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-5, atol=1e-6)


def test_k_larger_than_n_pads_with_minus_one() -> None:
    base = unit(np.eye(5, 8) + 0.01)
    found = VectorStore.build(base).search(base[:2], 8)
    scores, ids = found.scores, found.ids
    assert ids.shape == (2, 8)
    assert sorted(ids[0, :5].tolist()) == [0, 1, 2, 3, 4]
    assert (ids[:, 5:] == -1).all() and np.isneginf(scores[:, 5:]).all()
    assert np.isfinite(scores[:, :5]).all()


def test_empty_store(tmp_path: Path) -> None:
    store = VectorStore.build(np.zeros((0, 8), dtype=np.float32))
    assert store.ntotal == 0 and store.dim == 8
    queries = unit(np.ones((3, 8)))
    found = store.search(queries, 4)
    scores, ids = found.scores, found.ids
    assert ids.shape == (3, 4) and (ids == -1).all() and np.isneginf(scores).all()
    assert store.vectors().shape == (0, 8)
    store.save(tmp_path / "e.faiss")
    loaded = VectorStore.load(tmp_path / "e.faiss")
    assert loaded.ntotal == 0 and (loaded.search(queries, 2).ids == -1).all()


def test_search_edge_cases() -> None:
    base = unit(np.random.default_rng(3).standard_normal((20, 4)))
    store = VectorStore.build(base)
    empty = store.search(base[:2], 0)
    assert empty.scores.shape == empty.ids.shape == (2, 0)
    assert store.search(np.zeros((0, 4), dtype=np.float32), 3).ids.shape == (0, 3)
    np.testing.assert_array_equal(store.search(base[:3].astype(np.float64), 1).ids[:, 0], [0, 1, 2])
    with pytest.raises(StoreError, match="dimension"):
        store.search(base[:, :3], 1)
    with pytest.raises(StoreError, match="2-D"):
        store.search(base[0], 1)
    with pytest.raises(StoreError):
        store.search(base[:1], -1)
    with pytest.raises(StoreError, match="NaN"):
        store.search(np.full((1, 4), np.nan, dtype=np.float32), 1)


def test_build_rejects_bad_vectors() -> None:
    with pytest.raises(StoreError, match="normalised"):
        VectorStore.build(np.full((3, 4), 2.0, dtype=np.float32))
    with pytest.raises(StoreError, match="NaN"):
        VectorStore.build(np.array([[np.nan, 0, 0, 0]], dtype=np.float32))
    with pytest.raises(StoreError):
        VectorStore.build(np.ones(4, dtype=np.float32))
    with pytest.raises(StoreError, match="at least 32"):
        VectorStore.build(unit(np.ones((10, 4))), IVF)


# ----------------------------------------------------------------------------- persistence


@pytest.mark.parametrize("mmap", [True, False])
def test_flat_round_trip(tmp_path: Path, data: tuple[np.ndarray, np.ndarray], mmap: bool) -> None:
    base, queries = data
    store = VectorStore.build(base[:500])
    path = tmp_path / "v.faiss"
    store.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["v.faiss"]  # no temp file left behind
    loaded = VectorStore.load(path, mmap=mmap)
    assert loaded.spec == store.spec and loaded.ntotal == 500
    a, b = store.search(queries, 10), loaded.search(queries, 10)
    np.testing.assert_array_equal(a.ids, b.ids)
    np.testing.assert_array_equal(a.scores, b.scores)
    np.testing.assert_array_equal(loaded.vectors(), base[:500])
    # Overwriting while a memory-mapped store is open must not disturb it (atomic replace).
    VectorStore.build(base[500:600]).save(path)
    np.testing.assert_array_equal(loaded.vectors(), base[:500])
    assert VectorStore.load(path, mmap=mmap).ntotal == 100


@pytest.mark.parametrize("mmap", [True, False])
def test_all_scores_are_a_full_searchs_scores_bit_for_bit(
    tmp_path: Path, data: tuple[np.ndarray, np.ndarray], mmap: bool
) -> None:
    """A flat store's every cosine in one pass: the very float32 values a search for all ids gives
    (a near tie must not flip), in id order; an IVF store has none (it is searched)."""
    base, queries = data
    VectorStore.build(base).save(tmp_path / "v.faiss")
    store = VectorStore.load(tmp_path / "v.faiss", mmap=mmap)
    for query in queries[:20]:
        found = store.search(query[None, :], len(base)).for_query(0)
        expected = np.empty(len(base), dtype=np.float32)
        expected[found.ids] = found.scores
        every = store.all_scores(query)
        assert every is not None and every.dtype == np.float32
        np.testing.assert_array_equal(every, expected)
    assert VectorStore.build(base, IVF).all_scores(queries[0]) is None
    assert VectorStore.build(base[:0]).all_scores(queries[0]) is not None
    with pytest.raises(StoreError):
        store.all_scores(queries[0][:5])  # the wrong dimension


def test_ivf_spec(tmp_path: Path, data: tuple[np.ndarray, np.ndarray]) -> None:
    spec = IVF
    base, queries = data
    _, truth = brute(base, queries, 10)
    store = VectorStore.build(base, spec)
    assert store.spec == spec and store.ntotal == len(base)
    found = store.search(queries, 10)
    scores, ids = found.scores, found.ids
    assert recall(ids, truth) >= 0.9
    assert (np.diff(scores, axis=1) <= 1e-6).all()  # best first
    np.testing.assert_array_equal(store.vectors(), base)
    path = tmp_path / f"{spec.kind}.faiss"
    store.save(path)
    for mmap in (True, False):
        loaded = VectorStore.load(path, mmap=mmap)
        assert loaded.spec == spec
        np.testing.assert_array_equal(loaded.search(queries, 10).ids, ids)
        np.testing.assert_array_equal(loaded.vectors(), base)


@pytest.mark.parametrize("kind", ["flat", "ivf"])
@pytest.mark.parametrize("mmap", [True, False])
def test_corrupt_files_raise_store_error(
    tmp_path: Path, data: tuple[np.ndarray, np.ndarray], kind: str, mmap: bool
) -> None:
    spec = {"flat": StoreSpec("flat"), "ivf": IVF}[kind]
    good = tmp_path / "good.faiss"
    VectorStore.build(data[0][:800], spec).save(good)
    raw = good.read_bytes()
    bad = tmp_path / "bad.faiss"
    rng = np.random.default_rng(7)
    # Truncations (faiss's mmap reader segfaults on some of these unless checked first),
    # random bytes, an empty file, trailing garbage, and a wrong fourcc.
    cuts = [0, 3, 4, 25, 40, 45, 100, len(raw) // 3, len(raw) // 2, len(raw) - 1]
    cases = [raw[:c] for c in cuts]
    cases += [rng.bytes(len(raw)), rng.bytes(64), raw + b"\0" * 8, b"IxXX" + raw[4:]]
    for case in cases:
        bad.write_bytes(case)
        with pytest.raises(StoreError, match=r"bad\.faiss"):
            VectorStore.load(bad, mmap=mmap)
    with pytest.raises(StoreError, match="does not exist"):
        VectorStore.load(tmp_path / "missing.faiss", mmap=mmap)


def test_foreign_index_types_rejected(tmp_path: Path) -> None:
    import faiss

    x = unit(np.random.default_rng(0).standard_normal((50, 8)))
    l2 = faiss.IndexFlatL2(8)
    l2.add(x)
    faiss.write_index(l2, str(tmp_path / "l2.faiss"))
    with pytest.raises(StoreError, match="inner-product"):
        VectorStore.load(tmp_path / "l2.faiss")
    sq = faiss.IndexScalarQuantizer(8, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
    sq.train(x)
    sq.add(x)
    faiss.write_index(sq, str(tmp_path / "sq.faiss"))
    with pytest.raises(StoreError, match="unsupported"):
        VectorStore.load(tmp_path / "sq.faiss")
    # The store never builds HNSW (choose_spec picks flat or IVF), so it does not read it either.
    hnsw = faiss.IndexHNSWFlat(8, 16, faiss.METRIC_INNER_PRODUCT)
    hnsw.add(x)
    faiss.write_index(hnsw, str(tmp_path / "hnsw.faiss"))
    with pytest.raises(StoreError, match="unsupported"):
        VectorStore.load(tmp_path / "hnsw.faiss")


def test_save_to_missing_directory(tmp_path: Path) -> None:
    store = VectorStore.build(unit(np.ones((2, 4))))
    with pytest.raises(StoreError, match="not a directory"):
        store.save(tmp_path / "nope" / "v.faiss")


# ----------------------------------------------------------------------------- specs


@pytest.mark.parametrize("spec", [StoreSpec("flat"), IVF])
def test_spec_json_round_trip(spec: StoreSpec) -> None:
    doc = json.loads(json.dumps(spec.to_json()))
    again = StoreSpec.from_json(doc)
    assert again == spec and hash(again) == hash(spec) and dict(again.params) == dict(spec.params)


@pytest.mark.parametrize(
    "doc",
    [
        None,
        [],
        {},
        {"kind": "pq", "params": {}},
        {"kind": 3, "params": {}},
        {"kind": "flat", "params": {"M": 4}},
        {"kind": "flat", "params": []},
        {"kind": "flat", "params": {}, "extra": 1},
        {"kind": "hnsw", "params": {"M": 16, "ef_construction": 64, "ef_search": 64}},
        {"kind": "ivf", "params": {"nlist": 16}},
        {"kind": "ivf", "params": {"nlist": 16, "nprobe": "4"}},
        {"kind": "ivf", "params": {"nlist": 16, "nprobe": 6.5}},
        {"kind": "ivf", "params": {"nlist": True, "nprobe": 1}},
        {"kind": "ivf", "params": {"nlist": 0, "nprobe": 1}},
        {"kind": "ivf", "params": {"nlist": 16, "nprobe": 32}},
        {"kind": "ivf", "params": {"nlist": -1, "nprobe": 1}},
    ],
)
def test_spec_rejects_bad_json(doc: object) -> None:
    with pytest.raises(StoreError):
        StoreSpec.from_json(doc)


def test_spec_is_immutable() -> None:
    params = {"nlist": 16, "nprobe": 4}
    spec = StoreSpec("ivf", params)
    params["nprobe"] = 8
    assert spec.params["nprobe"] == 4
    with pytest.raises(TypeError):
        spec.params["nprobe"] = 8  # type: ignore[index]


def test_choose_spec() -> None:
    for n in (0, 1, 5_000, 50_000):
        assert choose_spec(n, 384) == StoreSpec("flat")
    assert choose_spec(200_000, 64).kind == "flat"  # the threshold is in stored floats
    mid, big = choose_spec(100_000, 384), choose_spec(1_000_000, 384)
    assert mid == StoreSpec("ivf", {"nlist": 1024, "nprobe": 128})
    assert big == StoreSpec("ivf", {"nlist": 4096, "nprobe": 16})
    for n in (50_001, 300_000, 10**8):
        spec = choose_spec(n, 384)
        assert spec.kind == "ivf" and 39 * spec.params["nlist"] <= n
        assert StoreSpec.from_json(spec.to_json()) == spec
    with pytest.raises(StoreError):
        choose_spec(-1, 384)
    with pytest.raises(StoreError):
        choose_spec(10, 0)


# ----------------------------------------------------------------------------- building from a file


@pytest.mark.parametrize("spec", [StoreSpec("flat"), IVF])
def test_a_memory_mapped_matrix_is_indexed_in_blocks_and_left_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: tuple[np.ndarray, np.ndarray], spec: StoreSpec
) -> None:
    import indexer.store.blocks as store_module

    base, queries = data
    np.save(tmp_path / "base.npy", base)
    in_memory = VectorStore.build(base.copy(), spec)  # one block: plain add
    monkeypatch.setattr(store_module, "BLOCK_ROWS", 300)  # several blocks, the last one partial
    mapped = np.load(tmp_path / "base.npy", mmap_mode="r")
    assert store_module.file_mapping(mapped) is not None
    from_file = VectorStore.build(mapped, spec)  # IVF: added list by list
    assert from_file.ntotal == len(base)
    np.testing.assert_array_equal(from_file.search(queries, 10).ids, in_memory.search(queries, 10).ids)
    np.testing.assert_array_equal(np.asarray(mapped), base)  # released pages are read again from the file
    np.testing.assert_array_equal(from_file.vectors(), base)
    if spec.kind == "ivf":  # the very same inverted lists, entries in the same order
        import faiss

        a = faiss.extract_index_ivf(from_file._index).invlists
        b = faiss.extract_index_ivf(in_memory._index).invlists
        for list_no in range(spec.params["nlist"]):
            assert a.list_size(list_no) == b.list_size(list_no)
            size = a.list_size(list_no)
            ids_a = faiss.rev_swig_ptr(a.get_ids(list_no), size).copy() if size else []
            ids_b = faiss.rev_swig_ptr(b.get_ids(list_no), size).copy() if size else []
            np.testing.assert_array_equal(ids_a, ids_b)


def test_only_read_onlyfile_mappings_are_released(tmp_path: Path, data: tuple[np.ndarray, np.ndarray]) -> None:
    import indexer.store.blocks as store_module

    base, _ = data
    np.save(tmp_path / "base.npy", base)
    assert store_module.file_mapping(base) is None  # anonymous memory: never handed back
    writable = np.load(tmp_path / "base.npy", mmap_mode="r+")
    assert store_module.file_mapping(writable) is None
    copy_on_write = np.load(tmp_path / "base.npy", mmap_mode="c")
    assert store_module.file_mapping(copy_on_write) is None
    VectorStore.build(copy_on_write, StoreSpec("flat"))
    np.testing.assert_array_equal(np.asarray(copy_on_write), base)


def test_rows_taken_block_by_block_equal_fancy_indexing(monkeypatch: pytest.MonkeyPatch) -> None:
    import indexer.store.blocks as store_module

    matrix = np.arange(1000 * 4, dtype=np.float32).reshape(1000, 4)
    rows = np.sort(np.random.default_rng(3).choice(1000, size=137, replace=False))
    monkeypatch.setattr(store_module, "BLOCK_ROWS", 64)
    np.testing.assert_array_equal(store_module.take_rows(matrix, rows), matrix[rows])
