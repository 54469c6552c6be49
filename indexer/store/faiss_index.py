"""FAISS index objects for a :class:`~indexer.store.spec.StoreSpec`: build one, and read the spec back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from . import blocks
from .faiss_runtime import faiss_module
from .spec import FLAT_SPEC, StoreError, StoreSpec

if TYPE_CHECKING:
    import faiss

# IVF k-means is trained on at most this many points per list (faiss's own default
# is 256; 64 keeps a 1M-vector nlist=4096 build at 188 s on the 2-vCPU benchmark box).
_IVF_TRAIN_POINTS_PER_LIST: Final = 64
_IVF_TRAIN_SEED: Final = 1234


def spec_of(index: faiss.Index) -> StoreSpec:
    """The spec (kind, build and search parameters) of a FAISS index this store can hold."""
    f = faiss_module()
    # Exact types: subclasses (PQ/SQ/Panorama variants...) do not store vectors the same way.
    if type(index) is f.IndexIVFFlat:
        nlist, nprobe = int(index.nlist), int(index.nprobe)  # type: ignore[attr-defined]
        return StoreSpec("ivf", {"nlist": nlist, "nprobe": nprobe})
    if type(index) in (f.IndexFlatIP, f.IndexFlat):
        return FLAT_SPEC
    raise StoreError(f"Unsupported FAISS index type {type(index).__name__} in vector store.")


def search_parameters(spec: StoreSpec, selector: faiss.IDSelector | None = None) -> faiss.SearchParameters | None:
    """Per-call search parameters: ``nprobe`` of an IVF index, and the ids a search may return."""
    f = faiss_module()
    if spec.kind == "ivf":
        ivf: faiss.SearchParameters = f.SearchParametersIVF(nprobe=spec.params["nprobe"], sel=selector)
        return ivf
    if selector is not None:
        params: faiss.SearchParameters = f.SearchParameters(sel=selector)
        return params
    return None


def apply_search_params(index: faiss.Index, spec: StoreSpec) -> None:
    """Record the spec's search parameters in the index (they are written with it)."""
    if spec.kind == "ivf":
        index.nprobe = spec.params["nprobe"]  # type: ignore[attr-defined]


def new_index(vectors: npt.NDArray[np.float32], spec: StoreSpec) -> faiss.Index:
    """A FAISS index of ``spec`` holding ``vectors`` (ids ``0..n-1``), read block by block."""
    f = faiss_module()
    n, dim = vectors.shape
    index: faiss.Index
    if spec.kind == "flat":
        index = f.IndexFlatIP(dim)
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
            train = blocks.take_rows(vectors, np.sort(rng.choice(n, size=limit, replace=False)))
        ivf_index.train(train)
        del train
        index = ivf_index
    if spec.kind == "ivf" and n > blocks.BLOCK_ROWS:
        blocks.add_by_list(index, vectors)
    else:
        for block in blocks.row_blocks(vectors):
            index.add(block)
    if spec.kind == "ivf":
        # Array direct map: id -> (list, offset), so reconstruct() works per id.
        index.make_direct_map()  # type: ignore[attr-defined]
    apply_search_params(index, spec)
    return index
