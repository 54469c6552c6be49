"""The Searcher's candidate lists: the same answers as scoring every chunk when the lists cover the
corpus, only candidates ranked when they do not, filters before ranking, and a lazy best-first order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import indexer.search as search_module
from indexer.fusion import FusionParams
from indexer.index_files import load_index
from indexer.model_files import ModelInfo
from indexer.models import SearchFilter, SearchResult
from indexer.search import Searcher, _best_first
from indexer.settings import Settings

from .conftest import small_settings
from .fakes import FakeEmbedder
from .test_build_and_search import build

TOPICS = ["redis cache", "dynamodb table", "s3 bucket", "lambda function", "kinesis stream", "sqs queue"]
QUESTIONS = ["redis cache eviction", "dynamodb item size", "s3 bucket versioning", "kinesis shard limit"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    notes = {}
    for n in range(12):
        sections = []
        for s in range(3):
            topic = TOPICS[(n + s) % len(TOPICS)]
            words = " ".join(f"w{(n * 7 + s * 3 + i) % 40}" for i in range(5))
            sections.append(f"## {topic} part {s}\n\n- {topic} note {n} {words}\n- limit {n * 10 + s} {topic}\n")
        notes[f"n{n:02d}.md"] = f"# Note {n}\n\n" + "\n".join(sections)
    return small_settings(tmp_path, notes)


def summary(result: SearchResult) -> list[tuple[str, int, int | None]]:
    return [(h.chunk.path, h.chunk.start_line, h.answer_line) for h in result.hits]


def scores(result: SearchResult) -> dict[tuple[str, int], tuple[float, float]]:
    return {(h.chunk.path, h.chunk.start_line): (h.dense_score, h.keyword_score) for h in result.hits}


@pytest.mark.parametrize("mode", ["hybrid", "dense", "keyword"])
@pytest.mark.parametrize("filters", [None, SearchFilter(paths=("n0*",))])
def test_lists_covering_the_corpus_give_the_exact_answers(
    settings: Settings, fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch, mode: str, filters: SearchFilter | None
) -> None:
    build(settings, fake_model)
    searcher = Searcher(load_index(settings.index_dir), FakeEmbedder())
    assert searcher.size > 30
    exact = [searcher.search(q, k=8, mode=mode, filters=filters) for q in QUESTIONS]
    monkeypatch.setattr(search_module, "EXACT_CHUNKS", 0)  # the candidate path, lists as deep as the corpus
    listed = [searcher.search(q, k=8, mode=mode, filters=filters) for q in QUESTIONS]
    for a, b in zip(exact, listed, strict=True):
        assert a.hits and summary(a) == summary(b)
        np.testing.assert_allclose([h.score for h in a.hits], [h.score for h in b.hits], atol=1e-5)
        if filters:
            assert all(h.chunk.path.startswith("n0") for h in b.hits)


@pytest.mark.parametrize("filters", [None, SearchFilter(paths=("n0*",))])
def test_short_lists_rank_only_candidates_with_every_score_computed(
    settings: Settings, fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch, filters: SearchFilter | None
) -> None:
    build(settings, fake_model)
    index = load_index(settings.index_dir)
    exact = Searcher(index, FakeEmbedder())
    everything = {q: scores(exact.search(q, k=exact.size, mode="hybrid", filters=filters)) for q in QUESTIONS}
    short = Searcher(index, FakeEmbedder(), fusion=FusionParams(candidates=2))
    monkeypatch.setattr(search_module, "EXACT_CHUNKS", 0)
    monkeypatch.setattr(search_module, "CANDIDATE_DEPTH", 2)
    for question in QUESTIONS:
        result = short.search(question, k=10, mode="hybrid", filters=filters)
        # two chunks by cosine, the chunks of two lines, two by BM25: at most six compete
        assert 1 <= len(result.hits) <= 6
        for key, (dense, keyword) in scores(result).items():
            # a chunk that only one list found still gets its exact dense and BM25 scores
            want_dense, want_keyword = everything[question][key]
            assert dense == pytest.approx(want_dense, abs=1e-5) and keyword == pytest.approx(want_keyword, abs=1e-5)
            assert not filters or key[0].startswith("n0")


def test_best_first_is_a_stable_descending_sort_read_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_module, "_SORT_ALL_BELOW", 0)  # partition even these 500
    rng = np.random.default_rng(5)
    values = rng.integers(0, 6, 500).astype(np.float32)  # many ties
    values[rng.integers(0, 500, 40)] = -np.inf
    want = np.argsort(-values, kind="stable").tolist()
    for first in (1, 3, 10, 499, 500, 2000):
        assert list(_best_first(values, first)) == want
    taken = []
    for position in _best_first(values, 4):
        taken.append(position)
        if len(taken) == 7:
            break
    assert taken == want[:7]
    assert list(_best_first(np.zeros(0, dtype=np.float32), 4)) == []
