"""Property tests (hypothesis) for the chunker and the searcher.

Settings, kept modest so the suite stays fast: ``max_examples=150`` for the
chunker and for search, ``max_examples=25`` for search over random corpora
(each example builds an index), ``deadline=None`` everywhere (the first
example pays for imports), no example database is needed between runs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.build import build_index
from indexer.chunker import chunk_document
from indexer.errors import UsageError
from indexer.index_files import load_index
from indexer.models import Chunk
from indexer.modes import MODES
from indexer.search import Searcher
from indexer.settings import ChunkerSettings, Settings

from .fakes import FakeEmbedder, WordCounter
from .reliability_support import fake_model_info

CHUNKER_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEARCH_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CORPUS_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# --------------------------------------------------------------------------- random Markdown

_WORDS = st.sampled_from(
    ["the", "item", "size", "limit", "400KB", "DynamoDB", "S3", "bucket", "*bold*", "_it_", "`code`", "[link](http://x)", "<b>html</b>", "|", "\\", "#", "-", "1.", ">", "![img](x.png)", "ü", "中文", "emoji🙂", "\t", "x"]
)
_TEXT = st.lists(_WORDS, min_size=0, max_size=12).map(" ".join)
_ODD_TEXT = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\r\n\x00"), max_size=40
)  # anything but line breaks (separate lines) and NUL (a binary note: tested elsewhere)


def _indent(depth: int) -> str:
    return "  " * depth


_LINE = st.one_of(
    st.builds(lambda n, t: "#" * n + " " + t, st.integers(1, 7), _TEXT),  # headings (7 # is a paragraph)
    st.builds(lambda d, t: f"{_indent(d)}- {t}", st.integers(0, 70), _TEXT),  # (deeply) nested lists
    st.builds(lambda d, n, t: f"{_indent(d)}{n}. {t}", st.integers(0, 5), st.integers(1, 12), _TEXT),
    st.builds(lambda cells: "| " + " | ".join(cells) + " |", st.lists(_TEXT, min_size=1, max_size=4)),  # table rows
    st.sampled_from(["|---|---|", "| --- |", "```", "```python", "~~~", "---", "***", "===", "", "   ", "<!-- x -->",
                     "[ref]: http://example.com", "    indented code", "> quote", ">> nested quote", "\t- tab item"]),
    st.builds(lambda n: "word " * n, st.integers(50, 400)),  # very long line
    st.builds(lambda n: "x" * n, st.integers(100, 3000)),  # one enormous word
    _TEXT,
    _ODD_TEXT,
)
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")


def _no_setext(lines: list[str]) -> str:
    """Join lines, with a blank line before any that would underline a setext heading (see the xfail below)."""
    out: list[str] = []
    for line in lines:
        if _SETEXT_UNDERLINE.match(line) and out and out[-1].strip():
            out.append("")
        out.append(line)
    return "\n".join(out)


MARKDOWN = st.lists(_LINE, min_size=0, max_size=60).map(_no_setext)
CHUNKER = st.builds(
    lambda max_tokens, fraction, overlap: ChunkerSettings(
        max_tokens=max_tokens, target_tokens=max(18, int(max_tokens * fraction)), overlap_blocks=overlap
    ),
    st.integers(18, 128),
    st.floats(0.3, 1.0),
    st.integers(0, 2),
)


def _source_lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def check_chunks(chunks: list[Chunk], text: str, chunker: ChunkerSettings) -> None:
    lines = _source_lines(text)
    counter = WordCounter()
    covered: set[int] = set()
    for chunk in chunks:
        assert chunk.path == "note.md"
        assert 1 <= chunk.start_line <= chunk.end_line <= len(lines), (chunk.start_line, chunk.end_line, len(lines))
        numbered = chunk.numbered_lines()
        assert len(numbered) == chunk.text.count("\n") + 1
        for number, piece in numbered:
            assert chunk.start_line <= number <= chunk.end_line
            assert piece.strip() in lines[number - 1], (number, piece, lines[number - 1])
            covered.add(number)
        assert counter.count([chunk.embed_text()])[0] <= chunker.max_tokens, chunk
    missing = [n for n, line in enumerate(lines, start=1) if line.strip() and n not in covered]
    assert not missing, (missing, [lines[n - 1] for n in missing])
    assert len({c.id for c in chunks}) == len(chunks)  # ids are unique within a note


@CHUNKER_SETTINGS
@given(text=MARKDOWN, chunker=CHUNKER)
def test_chunker_on_random_markdown(text: str, chunker: ChunkerSettings) -> None:
    check_chunks(chunk_document("note.md", text, WordCounter(), chunker), text, chunker)


@CHUNKER_SETTINGS
@given(text=st.text(max_size=400).map(lambda t: _no_setext(t.replace("\r", "\n").split("\n"))), chunker=CHUNKER)
def test_chunker_on_random_text(text: str, chunker: ChunkerSettings) -> None:
    check_chunks(chunk_document("note.md", text, WordCounter(), chunker), text, chunker)


# --------------------------------------------------------------------------- search

NOTES = {
    "database.md": "# Database\n\n## DynamoDB\n\n- NoSQL key/value store\n- Maximum size of an item is 400KB\n"
    "- Time To Live (TTL) deletes expired items\n\n## RDS\n\n- Relational database with read replicas\n"
    "- Multi-AZ gives automatic failover\n\n| engine | port |\n|---|---|\n| MySQL | 3306 |\n| Postgres | 5432 |\n",
    "cache.md": "# Cache\n\n## ElastiCache\n\n- Redis has replication and persistence\n"
    "- Memcached is multi-threaded and non persistent\n",
    "storage.md": "# Storage\n\n## S3\n\n- durable (99.999999999%)\n- pre-signed URL gives temporary access\n"
    + "\n".join(f"- S3 storage class number {i} for tier {i % 4}" for i in range(40)),
}
QUERY_WORDS = st.sampled_from(
    ["s3", "durable", "item", "size", "400kb", "dynamodb", "redis", "memcached", "replication", "port", "mysql", "tier", "class", "storage", "the", "a", "of", "?", "zzz", "unknown", "🙂", "\x1b[31m"]
)
QUERIES = st.one_of(st.lists(QUERY_WORDS, max_size=8).map(" ".join), st.text(max_size=60))


def _build(root: Path, notes: dict[str, str]) -> Searcher:
    corpus = root / "notes"
    for name, text in notes.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(text, encoding="utf-8")
    settings_ = Settings(corpus_dir=corpus, index_dir=root / "index", cache_dir=root / "cache",
                         chunker=ChunkerSettings(target_tokens=24, max_tokens=32))
    build_index(settings_, embedder=FakeEmbedder(), token_counter=WordCounter(), model=fake_model_info(root))
    return Searcher(load_index(root / "index"), FakeEmbedder())


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory) -> Searcher:
    return _build(tmp_path_factory.mktemp("props"), NOTES)


def check_search(searcher: Searcher, query: str, k: int, mode: str) -> None:
    cleaned = "".join(ch if ch.isprintable() else " " for ch in query).strip()
    if not cleaned:
        with pytest.raises(UsageError):
            searcher.search(query, k=k, mode=mode)
        return
    result = searcher.search(query, k=k, mode=mode)
    hits = result.hits
    assert len(hits) <= k
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:])), [h.score for h in hits]
    chunks = set(searcher.index.chunks)
    for hit in hits:
        assert hit.chunk in chunks
        assert hit.chunk.start_line <= hit.snippet.start_line <= hit.snippet.end_line <= hit.chunk.end_line
        assert all(0 <= s.start < s.end <= len(hit.snippet.text) for s in hit.snippet.highlights)


@SEARCH_SETTINGS
@given(query=QUERIES, k=st.integers(1, 30), mode=st.sampled_from(MODES))
def test_search_returns_at_most_k_sorted_real_chunks(searcher: Searcher, query: str, k: int, mode: str) -> None:
    check_search(searcher, query, k, mode)


@CORPUS_SETTINGS
@given(
    notes=st.dictionaries(st.sampled_from(["a.md", "b.md", "sub/c.md"]), MARKDOWN, min_size=1, max_size=3),
    query=QUERIES,
    k=st.integers(1, 10),
    mode=st.sampled_from(MODES),
)
def test_search_over_random_corpora(
    tmp_path_factory: pytest.TempPathFactory, notes: dict[str, str], query: str, k: int, mode: str
) -> None:
    if not any(text.strip() for text in notes.values()):
        notes = {**notes, "z.md": "# z\n- something\n"}
    check_search(_build(tmp_path_factory.mktemp("corpus"), notes), query, k, mode)


def test_setext_heading_lines_are_covered() -> None:
    text = "Alpha\nBeta\n---\n\n- item one\n"
    chunker = ChunkerSettings(max_tokens=64, target_tokens=64)
    chunks = chunk_document("note.md", text, WordCounter(), chunker)
    check_chunks(chunks, text, chunker)
    assert all("\n" not in part for c in chunks for part in c.heading)
