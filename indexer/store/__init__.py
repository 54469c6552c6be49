"""The FAISS vector store, by job.

* :mod:`.spec`: which index to build (:class:`StoreSpec`) and the size policy (:func:`choose_spec`);
* :mod:`.layout`: a FAISS file-format validator run before faiss reads a file;
* :mod:`.blocks`: building from a memory-mapped matrix block by block (``madvise``, IVF list-by-list fill);
* :mod:`.faiss_index` and :mod:`.faiss_runtime`: faiss objects, the lazy import and OpenMP threads;
* :mod:`.vector_store`: the :class:`VectorStore` facade (a :class:`~indexer.vector_index.VectorIndex`).
"""

from .spec import FLAT_SPEC, StoreError, StoreSpec, choose_spec
from .vector_store import VectorStore

__all__ = ["FLAT_SPEC", "StoreError", "StoreSpec", "VectorStore", "choose_spec"]
