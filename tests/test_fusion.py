"""The one fusion function that `ask`, the TUI, `eval` and `eval --beir` rank with."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.fusion import FusionParams, fuse


def arr(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float32)


def test_convex_mix_of_min_max_normalised_scores() -> None:
    dense = arr(0.9, 0.5, 0.1)
    keyword = arr(0.0, 4.0, 8.0)
    fused = fuse(dense, keyword, FusionParams(dense_weight=0.6))
    np.testing.assert_allclose(fused, [0.6, 0.6 * 0.5 + 0.4 * 0.5, 0.4], rtol=1e-6)


def test_only_the_top_candidates_of_either_ranking_compete() -> None:
    dense = arr(0.9, 0.8, 0.1, 0.0)
    keyword = arr(0.0, 0.0, 0.0, 5.0)
    fused = fuse(dense, keyword, FusionParams(candidates=1))
    assert np.isfinite(fused[[0, 3]]).all()
    assert np.isneginf(fused[[1, 2]]).all()


def test_filtered_documents_never_compete_and_missing_terms_leave_dense_order() -> None:
    dense = arr(0.9, -np.inf, 0.3)
    keyword = arr(0.0, 0.0, 0.0)
    fused = fuse(dense, keyword)
    assert np.isneginf(fused[1])
    assert fused[0] > fused[2]


@pytest.mark.parametrize("size", [0, 1, 3])
def test_tiny_inputs(size: int) -> None:
    fused = fuse(np.ones(size, dtype=np.float32), np.zeros(size, dtype=np.float32))
    assert fused.shape == (size,) and np.isfinite(fused).all()


def test_searcher_and_beir_share_it() -> None:
    import inspect

    from indexer import search
    from indexer.evaluate import beir

    assert search.fuse is fuse and beir.fuse is fuse
    assert "def fuse" not in inspect.getsource(beir) and "def fuse" not in inspect.getsource(search)
