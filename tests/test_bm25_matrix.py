"""The BM25 matrix computed with numpy (``indexer.bm25_matrix``) is bm25s's, number for number."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from indexer.bm25_matrix import bm25_matrix
from indexer.keyword import EMPTY_TERM, KeywordIndex, KeywordParams, build_keyword_index
from indexer.terms import terms

TEXTS = [
    "DynamoDB items are at most 400KB; DynamoDB tables scale",
    "",
    "the the and",
    "Redis keeps data; Redis replicates data across Redis replicas",
    "S3 Glacier archives objects for years",
    "a much longer text about S3 buckets, S3 objects, versioning, lifecycle rules and S3 storage classes "
    "such as Standard, Infrequent Access and Glacier Deep Archive",
]


def columns(vocab: dict[str, int], data: np.ndarray, indices: np.ndarray, indptr: np.ndarray) -> dict[str, tuple]:
    """Each term's column as (texts, float32 bit patterns): comparable whatever numbers the vocabularies use."""
    return {term: (indices[indptr[i]:indptr[i + 1]].tolist(),
                   np.asarray(data[indptr[i]:indptr[i + 1]], dtype=np.float32).view(np.int32).tolist())
            for term, i in vocab.items() if i < len(indptr) - 1}  # bm25s numbers "" too, without a column


@pytest.mark.parametrize(("k1", "b"), [(1.2, 0.75), (0.9, 0.4), (2.0, 1.0)])
def test_the_matrix_is_bm25s_bit_for_bit(k1: float, b: float) -> None:
    import bm25s

    corpus = [terms(t) or [EMPTY_TERM] for t in TEXTS * 3]
    reference = bm25s.BM25(k1=k1, b=b, method="lucene")
    reference.index(corpus, show_progress=False)
    theirs = columns({str(k): int(v) for k, v in reference.vocab_dict.items()},
                     reference.scores["data"], reference.scores["indices"], reference.scores["indptr"])
    names = sorted({t for text in corpus for t in text})
    vocab = {t: i for i, t in enumerate(names)}
    ids = np.array([vocab[t] for text in corpus for t in text])
    ours = bm25_matrix(ids, np.array([len(text) for text in corpus]), len(names), k1, b)
    assert ours.data.dtype == np.float32 and ours.indices.dtype == np.int32 and ours.indptr.dtype == np.int64
    assert columns(vocab, ours.data, ours.indices, ours.indptr) == theirs
    assert theirs["redi"][0] == [3, 9, 15] and len(set(theirs["redi"][1])) == 1  # a term in 3 of 18 texts


def test_the_files_are_the_same_for_the_same_texts_and_rank_as_bm25s(tmp_path: Path) -> None:
    import bm25s

    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        folder.mkdir()
        build_keyword_index(TEXTS, folder, keep_terms=True)
    assert {p.name: p.read_bytes() for p in first.iterdir()} == {p.name: p.read_bytes() for p in second.iterdir()}
    vocab = json.loads((first / "bm25.vocab.json").read_text())["vocab"]
    assert list(vocab) == sorted(vocab) and sorted(vocab.values()) == list(range(len(vocab)))  # no set order
    index = KeywordIndex.load(first)
    reference = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    reference.index([terms(t) or [EMPTY_TERM] for t in TEXTS], show_progress=False)
    for query in ("Redis data", "S3 Glacier", "DynamoDB 400KB", "scale replicas years"):
        expected = reference.get_scores(terms(query))
        assert np.array_equal(index.scores(query), np.asarray(expected, dtype=np.float32)), query


def test_other_variants_are_scored_by_bm25s(tmp_path: Path) -> None:
    import bm25s

    build_keyword_index(TEXTS, tmp_path, KeywordParams(method="robertson"))
    index = KeywordIndex.load(tmp_path)
    reference = bm25s.BM25(k1=1.2, b=0.75, method="robertson")
    reference.index([terms(t) or [EMPTY_TERM] for t in TEXTS], show_progress=False)
    for query in ("Redis data", "S3 Glacier archives"):
        assert np.allclose(index.scores(query), reference.get_scores(terms(query)), rtol=0, atol=1e-6), query


def test_no_texts_give_an_empty_matrix(tmp_path: Path) -> None:
    build_keyword_index([], tmp_path, keep_terms=True)
    index = KeywordIndex.load(tmp_path)
    assert index.num_docs == 0 and len(index.scores("anything")) == 0
