"""faiss, imported on first use, and the OpenMP thread count its calls run with."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final

from ..cores import usable_cores

if TYPE_CHECKING:
    from types import ModuleType

_faiss_module: ModuleType | None = None


def faiss_module() -> ModuleType:
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
SERIAL_SEARCH_MAX_QUERIES: Final = 16


def parallel_threads() -> int:
    """Threads for building and batch search: usable cores, capped, or OMP_NUM_THREADS."""
    cores = usable_cores()
    limit = 8
    env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if env.isdigit() and int(env) > 0:
        limit = int(env)
    return max(1, min(cores, limit))


@contextmanager
def omp_threads(count: int) -> Iterator[None]:
    """Run faiss calls of *this* thread with ``count`` OpenMP threads (the setting is per thread)."""
    f = faiss_module()
    previous = int(f.omp_get_max_threads())
    if previous == count:
        yield
        return
    f.omp_set_num_threads(count)
    try:
        yield
    finally:
        f.omp_set_num_threads(previous)
