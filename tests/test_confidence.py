"""The "match" flag: the judge function, term coverage, and the flag on a tiny index."""

from __future__ import annotations

import pytest

from indexer import confidence
from indexer.build import build_index
from indexer.confidence import MatchSignals, bar_fraction, judge, judge_hits, term_coverage
from indexer.index_files import load_index
from indexer.model_files import ModelInfo
from indexer.search import Searcher
from indexer.settings import Settings

from .fakes import FakeEmbedder, WordCounter


@pytest.mark.parametrize(
    ("cosine", "coverage", "expected"),
    [
        (0.80, 1.0, "good"),  # close line, every term known
        (0.50, 0.8, "good"),  # 0.50 + 0.20 = GOOD_AT exactly
        (0.50, 0.5, "weak"),  # 0.625
        (0.46, 0.6, "weak"),  # 0.61: just over NONE_BELOW
        (0.44, 0.6, "none"),  # 0.59: just under it
        (0.45, 0.0, "none"),  # a fair line, but no word of the question in the notes
        (0.20, 1.0, "none"),  # familiar words, unrelated meaning
        (None, 1.0, "none"),  # nothing to judge
    ],
)
def test_judge_thresholds(cosine: float | None, coverage: float, expected: str) -> None:
    assert judge(MatchSignals(cosine, coverage)) == expected


def test_thresholds_are_ordered_and_the_weight_counts() -> None:
    assert 0 < confidence.NONE_BELOW < confidence.GOOD_AT
    low, high = MatchSignals(0.5, 0.0), MatchSignals(0.5, 1.0)
    assert judge(low) == "none" and judge(high) == "good"


def test_bar_fraction_is_one_scale_for_every_question() -> None:
    assert bar_fraction(None) == 0.0
    assert bar_fraction(confidence.BAR_FLOOR) == 0.0 and bar_fraction(-0.5) == 0.0
    assert bar_fraction(confidence.BAR_CEIL) == 1.0 and bar_fraction(1.0) == 1.0
    assert bar_fraction(0.4) < bar_fraction(0.6) < bar_fraction(0.8)


@pytest.fixture
def searcher(notes_settings: Settings, fake_model: ModelInfo) -> Searcher:
    build_index(notes_settings, embedder=FakeEmbedder(), token_counter=WordCounter(), model=fake_model)
    return Searcher(load_index(notes_settings.index_dir), FakeEmbedder())


def test_term_coverage_weighs_unknown_terms_most(searcher: Searcher) -> None:
    keyword = searcher.index.keyword
    assert term_coverage(keyword, "Memcached replication") == 1.0
    assert term_coverage(keyword, "sourdough baguette") == 0.0
    mixed = term_coverage(keyword, "cache a sourdough starter")  # "cache" known; two words unknown
    assert 0.0 < mixed < 0.5
    assert term_coverage(keyword, "what is it") == 1.0  # no content terms: nothing is unknown


def test_search_fills_match_and_answer_line(searcher: Searcher) -> None:
    good = searcher.search("maximum item size 400KB", k=3)
    assert good.match == "good"
    top = good.hits[0]
    assert top.answer_line in top.snippet.line_numbers
    assert dict(top.chunk.numbered_lines())[top.answer_line] == "- Maximum size of an item is 400KB"
    assert top.answer_score is not None and top.answer_score > 0.5
    off = searcher.search("how do I bake sourdough bread", k=3)
    assert off.hits and off.match == "none"
    assert judge_hits(searcher.index.keyword, "anything", ()) == "none"
