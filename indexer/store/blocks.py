"""Large matrices, read block by block: a memory-mapped matrix of vectors is indexed
without holding it and the index in memory at once.

:func:`row_blocks` hands each block's pages back to the kernel (``madvise``) once
used; :func:`add_by_list` fills an IVF index list by list, each list allocated
once. Both keep a 1M-vector build within the index's own size.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from typing import Any

import numpy as np
import numpy.typing as npt

from .faiss_runtime import faiss_module
from .spec import StoreError


def as_matrix(array: object, what: str, dim: int | None) -> npt.NDArray[np.float32]:
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


def squared_norms(matrix: npt.NDArray[np.float32], what: str) -> npt.NDArray[np.float32]:
    """Row squared norms, also the finiteness check (NaN/inf propagate; no (n, dim) temporaries)."""
    parts = [np.einsum("ij,ij->i", block, block) for block in row_blocks(matrix)]
    squared: npt.NDArray[np.float32] = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    if not np.isfinite(squared).all():
        raise StoreError(f"{what} contain NaN or infinite values.")
    return squared



#: Rows per block when a large matrix is read piecewise (25 MiB at 384-d).
BLOCK_ROWS = 16_384


def row_blocks(matrix: npt.NDArray[np.float32]) -> Iterator[npt.NDArray[np.float32]]:
    """``matrix`` in blocks of rows. When it is a read-only file mapping (``np.load(...,
    mmap_mode="r")``), each block's pages are handed back to the kernel once used, so
    indexing a matrix bigger than memory costs the index, not the index plus the matrix."""
    if len(matrix) <= BLOCK_ROWS:  # queries, small indexes: one block, nothing worth handing back
        yield matrix
        return
    mapping = file_mapping(matrix)
    for start in range(0, len(matrix), BLOCK_ROWS):
        block = matrix[start : start + BLOCK_ROWS]
        yield block
        if mapping is not None:
            release(mapping, block)


def add_by_list(index: Any, vectors: npt.NDArray[np.float32]) -> None:
    """Fill a trained, empty IVF-Flat index with ``vectors``, each inverted list allocated once.

    FAISS's ``add`` appends entry by entry, so every list's buffer grows by doubling and
    at 1M vectors the build held up to twice the index. Here the coarse assignment is
    computed first (what ``add`` computes anyway), every list is sized exactly, and each
    row is written straight to its slot. The result is the same index as ``add``
    gives: the same entries, ids ascending within each list.
    """
    f = faiss_module()
    n = len(vectors)
    nlist = int(index.nlist)
    assigned = np.empty(n, dtype=np.int64)
    start = 0
    for block in row_blocks(vectors):
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
    for block in row_blocks(vectors):
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


def take_rows(matrix: npt.NDArray[np.float32], rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
    """``matrix[rows]`` for sorted ``rows``, read block by block (see :func:`row_blocks`)."""
    out = np.empty((len(rows), matrix.shape[1]), dtype=np.float32)
    start = filled = 0
    for block in row_blocks(matrix):
        stop = start + len(block)
        lo, hi = np.searchsorted(rows, [start, stop])
        out[filled : filled + hi - lo] = block[rows[lo:hi] - start]
        filled += int(hi - lo)
        start = stop
    return out


def file_mapping(array: np.ndarray) -> Any:
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


def release(mapping: Any, block: np.ndarray) -> None:
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
