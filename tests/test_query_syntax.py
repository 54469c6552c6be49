"""Filter words typed in a question (``path:GLOB``, ``in:TEXT``), and eval rows that carry filters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer.errors import EvalError
from indexer.evaluate.notes_eval import evaluate_mode, relevant_chunk_counts
from indexer.evaluate.questions import load_questions
from indexer.model_files import ModelInfo
from indexer.models import SearchFilter
from indexer.query_syntax import parse_query
from indexer.settings import Settings

from .test_build_and_search import build, searcher


@pytest.mark.parametrize(
    ("typed", "text", "paths", "headings"),
    [
        ("how big is an item", "how big is an item", (), ()),
        ("path:cache.md redis persistence", "redis persistence", ("cache.md",), ()),
        ("item size in:DynamoDB", "item size", (), ("DynamoDB",)),
        ('failover in:"RDS & Aurora" path:db/*', "failover", ("db/*",), ("RDS & Aurora",)),
        ("PATH:a.md IN:x q", "q", ("a.md",), ("x",)),
        ("path:a.md path:b* q", "q", ("a.md", "b*"), ()),
        ('in:"open quote runs to the end', "", (), ("open quote runs to the end",)),
        ("see http://in:x and login:root", "see http://in:x and login:root", (), ()),  # not at a word start
        ("a bare in: stays", "a bare in: stays", (), ()),
        ('empty in:"" is dropped', "empty is dropped", (), ()),
    ],
)
def test_parse_query(typed: str, text: str, paths: tuple[str, ...], headings: tuple[str, ...]) -> None:
    parsed = parse_query(typed)
    assert parsed.text == text
    assert parsed.filters == SearchFilter(paths=paths, headings=headings)


def test_chips_quote_values_with_spaces() -> None:
    assert parse_query('q path:cache* in:"RDS & Aurora"').chips() == ("path:cache*", 'in:"RDS & Aurora"')
    assert parse_query("q").chips() == ()


def write_questions(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_eval_rows_carry_filters(tmp_path: Path, notes_settings: Settings, fake_model: ModelInfo) -> None:
    questions = load_questions(write_questions(tmp_path / "q.jsonl", [
        {"id": "a", "question": "maximum item size 400KB", "evidence": ["Maximum size of an item is 400KB"]},
        # The informational "path"/"heading" fields stay informational; the filter_* fields filter.
        {"id": "b", "question": "maximum item size 400KB", "evidence": ["Redis has replication"],
         "path": "database.md", "filter_path": "cache*"},
        {"id": "c", "question": "read replicas", "evidence": ["read replicas"], "filter_heading": ["rds", "aurora"]},
    ]))
    assert questions[0].filters == SearchFilter()
    assert questions[1].filters == SearchFilter(paths=("cache*",)) and questions[1].path == "database.md"
    assert questions[2].filters == SearchFilter(headings=("rds", "aurora"))
    build(notes_settings, fake_model)
    s = searcher(notes_settings)
    outcomes = {o.id: o for o in evaluate_mode(s, questions, "hybrid", k=10)}
    assert all(t.startswith("cache.md:") for t in outcomes["b"].top) and outcomes["b"].chunk_rank == 1
    assert outcomes["a"].top[0].startswith("database.md:")
    counts = relevant_chunk_counts(s, questions)
    assert counts["b"] == 1 and counts["c"] == 1


@pytest.mark.parametrize("value", ["", [], [""], 3, ["ok", 4]])
def test_a_bad_eval_filter_names_its_line(tmp_path: Path, value: object) -> None:
    path = write_questions(tmp_path / "q.jsonl", [
        {"id": "a", "question": "q", "evidence": ["e"]},
        {"id": "b", "question": "q", "evidence": ["e"], "filter_heading": value},
    ])
    with pytest.raises(EvalError, match='line 2: "filter_heading" must be'):
        load_questions(path)
