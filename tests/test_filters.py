"""Search filters (path globs, heading texts) apply before ranking."""

from __future__ import annotations

import pytest

from indexer.model_files import ModelInfo
from indexer.models import Chunk, SearchFilter
from indexer.settings import Settings

from .test_build_and_search import build, searcher


def chunk(path: str, *heading: str) -> Chunk:
    return Chunk("id", path, heading, 1, 1, "text")


@pytest.mark.parametrize(
    ("glob", "path", "expected"),
    [
        ("cache*", "cache.md", True),
        ("cache*", "notes/cache.md", True),  # the file name alone
        ("notes", "notes/cache.md", True),  # a folder: every note below it
        ("notes/", "notes/deep/cache.md", True),
        ("./cache.md", "cache.md", True),
        ("*.md", "database.md", True),
        ("data*", "cache.md", False),
        ("notes", "notesx/cache.md", False),
    ],
)
def test_path_globs(glob: str, path: str, expected: bool) -> None:
    assert SearchFilter(paths=(glob,)).allows(chunk(path)) is expected


def test_heading_matches_any_element_case_insensitive() -> None:
    f = SearchFilter(headings=("dynamo",))
    assert f.allows(chunk("a.md", "Database", "DynamoDB"))
    assert not f.allows(chunk("a.md", "Database", "RDS"))
    assert SearchFilter(headings=("DATABASE",)).allows(chunk("a.md", "Database", "RDS"))


def test_both_kinds_must_match_and_empty_allows_all() -> None:
    f = SearchFilter(paths=("cache.md",), headings=("elasticache",))
    assert f.allows(chunk("cache.md", "Cache", "ElastiCache"))
    assert not f.allows(chunk("database.md", "Cache", "ElastiCache"))
    assert not SearchFilter()
    assert SearchFilter().allows(chunk("x.md"))


@pytest.mark.parametrize("mode", ["hybrid", "dense", "keyword"])
def test_filtered_search_returns_only_matching_hits(notes_settings: Settings, fake_model: ModelInfo, mode: str) -> None:
    build(notes_settings, fake_model)
    s = searcher(notes_settings)
    unfiltered = s.search("maximum item size 400KB", k=3, mode=mode)
    assert unfiltered.hits[0].chunk.path == "database.md"
    result = s.search("maximum item size 400KB redis", k=10, mode=mode, filters=SearchFilter(paths=("cache*",)))
    assert result.hits and {h.chunk.path for h in result.hits} == {"cache.md"}
    none = s.search("maximum item size 400KB", k=10, mode=mode, filters=SearchFilter(paths=("nothing*",)))
    assert none.hits == ()


def test_filter_gives_k_hits_from_inside_the_filter(notes_settings: Settings, fake_model: ModelInfo) -> None:
    build(notes_settings, fake_model)
    s = searcher(notes_settings)
    inside = [c for c in s.index.chunks if c.path == "database.md"]
    result = s.search("cache redis memcached", k=len(inside), mode="dense", filters=SearchFilter(paths=("database.md",)))
    assert len(result.hits) == len(inside)
