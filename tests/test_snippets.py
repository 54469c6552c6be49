"""Snippet rules: cuts between words, the answer line, table headers, "…" where lines are left out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer.models import Chunk, Hit, SearchResult, Snippet, Span
from indexer.snippets import SnippetParams, _clip, answer_snippet, gaps_before, query_stems
from notes_qa_cli.output import format_result, result_to_json

LONG = ("DynamoDB keeps the top 100 most recent results of a scan only when the request asks for them, "
        "otherwise nothing is kept")


@pytest.mark.parametrize("limit", range(12, len(LONG), 7))
def test_clip_never_cuts_inside_a_word(limit: int) -> None:
    for centre in (0, 30, 60, len(LONG) - 10):
        clipped = _clip(LONG, (Span(centre, centre + 3),), limit)
        assert len(clipped) <= limit
        inner = clipped.strip("…")
        assert f" {inner} " in f" {LONG} ", clipped  # whole words only, from a word start to a word end
        assert clipped.startswith("…") == (not LONG.startswith(inner))
        assert clipped.endswith("…") == (not LONG.endswith(inner))


def test_clip_keeps_top_100_whole() -> None:
    clipped = _clip(LONG, (Span(17, 20),), 40)
    assert "top 100" in clipped and "top 1…" not in clipped


def test_clip_cuts_a_single_overlong_word() -> None:
    url = "https://example.com/" + "x" * 100
    assert len(_clip(url, (), 30)) <= 30


def chunk_of(lines: list[str], start: int = 1) -> Chunk:
    return Chunk("c", "n.md", ("N",), start, start + len(lines) - 1, "\n".join(lines))


def test_answer_line_is_the_best_scored_line_and_in_the_snippet() -> None:
    chunk = chunk_of(["- alpha", "- beta", "- gamma", "- delta"], start=10)
    answered = answer_snippet(chunk, [0.2, 0.9, 0.5, 0.1], set(), SnippetParams(max_lines=3))
    assert answered is not None
    assert answered.answer_line == 11 and answered.answer_cosine == pytest.approx(0.9)
    assert answered.answer_line in answered.snippet.line_numbers
    assert answered.snippet.line_numbers == (10, 11, 12)


def test_shared_words_can_make_another_line_the_answer() -> None:
    chunk = chunk_of(["- retention is 24 hours by default", "- shards hold records"])
    answered = answer_snippet(chunk, [0.40, 0.45], query_stems("default retention hours"))
    assert answered is not None and answered.answer_line == 1  # 0.40 + 0.3 x 1.0 beats 0.45


def test_a_table_row_keeps_its_header() -> None:
    lines = ["Intro line", "Redis | Memcached |", "---|---|", "Replication | Sharding |",
             "Data Durability using AOF persistence | Non persistent |", "- after the table"]
    chunk = chunk_of(lines)
    dense = [0.1, 0.2, None, 0.2, 0.9, 0.1]
    answered = answer_snippet(chunk, dense, set(), SnippetParams(max_lines=1))
    assert answered is not None
    assert answered.snippet.text.split("\n") == ["Redis | Memcached |", lines[4]]
    assert answered.snippet.line_numbers == (2, 5)
    assert answered.answer_line == 5


def test_a_line_ending_with_a_colon_comes_with_the_line_it_introduces() -> None:
    lines = ["- Hybrid storage", "- Types:", "", "- File Gateway (for NFS and SMB)", "- Volume Gateway", "- Tape Gateway"]
    chunk = chunk_of(lines, start=10)
    dense = [0.3, 0.6, None, 0.1, 0.1, 0.1]
    answered = answer_snippet(chunk, dense, query_stems("storage gateway types"), SnippetParams(max_lines=1))
    assert answered is not None and answered.answer_line == 11
    assert answered.snippet.text.split("\n") == ["- Types:", "- File Gateway (for NFS and SMB)"]
    assert answered.snippet.line_numbers == (11, 13)
    shown = answer_snippet(chunk, dense, query_stems("storage gateway types"), SnippetParams(max_lines=1),
                           exclude=frozenset({13}))  # a better hit shows it already
    assert shown is not None and shown.snippet.line_numbers == (11,)
    long = chunk_of(["- Types:", "- " + "gateway " * 100])
    cut = answer_snippet(long, [0.9, 0.1], set(), SnippetParams(max_lines=1))
    assert cut is not None and len(cut.snippet.text.split("\n")[1]) <= SnippetParams().max_chars
    last = answer_snippet(chunk_of(["- alpha", "- Types:"]), [0.1, 0.9], set(), SnippetParams(max_lines=1))
    assert last is not None and last.snippet.text == "- Types:"  # nothing after it in the chunk


def test_gaps_mark_left_out_content_lines_only() -> None:
    # Line 3 is a heading and 5 a table delimiter row: leaving them out is no gap.
    lines = ["- one", "- two", "## Sub", "| a | b |", "|---|---|", "| 1 | 2 |", "- seven"]
    chunk = chunk_of(lines)
    snippet = Snippet("- one\n- two\n| a | b |\n| 1 | 2 |", 1, 6, (), (1, 2, 4, 6))
    assert gaps_before(chunk, snippet) == (False, False, False, False)
    snippet = Snippet("- one\n- seven", 1, 7, (), (1, 7))
    assert gaps_before(chunk, snippet) == (False, True)


def hit(rank: int = 1, answer: int | None = 3) -> Hit:
    chunk = chunk_of(["- one", "- two", "- three 400KB", "- four", "- five"])
    snippet = Snippet("- one\n- three 400KB\n- four", 1, 4, (Span(8, 13),), (1, 3, 4))
    return Hit(rank, 0.9, chunk, snippet, 0.7, 1.0, answer_line=answer, answer_score=0.65)


def test_plain_output_marks_the_answer_and_the_gaps() -> None:
    text = format_result(SearchResult("q", "hybrid", (hit(),), match="good"), Path("notes"))
    assert text.split("\n") == ["1. N  notes/n.md:3  score 0.900", "   - one", "   …", " › - three 400KB", "   - four"]


@pytest.mark.parametrize(("match", "line"), [("none", "No good match in your notes"), ("weak", "Weak match")])
def test_plain_output_says_when_the_match_is_poor(match: str, line: str) -> None:
    text = format_result(SearchResult("q", "hybrid", (hit(),), match=match), Path("notes"))
    assert text.split("\n")[0].startswith(line)
    assert "1. N" in text  # the nearest passages still follow


def test_json_has_match_and_answer_line() -> None:
    payload = json.loads(json.dumps(result_to_json(SearchResult("q", "hybrid", (hit(),), match="weak"), Path("notes"))))
    assert payload["match"] == "weak"
    first = payload["results"][0]
    assert first["answer_line"] == 3 and first["answer_score"] == 0.65
    assert first["snippet"] == "- one\n- three 400KB\n- four"  # the notes' own words: "…" is only drawn


def test_highlights_are_every_word_whose_stem_the_question_has_whatever_the_line() -> None:
    from indexer.snippets import highlight_spans, query_stems
    from indexer.terms import SPAN_WORD, stem

    text = ("Replication keeps replicas in sync\n\nNo shared word here\n| Data Durability | AOF persistence |\n"
            "replicated, REPLICATING and replicate's forms; durable durability")
    stems = query_stems("which replication gives durability")

    def every_word() -> list[Span]:  # the plain definition, word by word over the whole text
        return [Span(m.start(), m.end()) for m in SPAN_WORD.finditer(text) if stem(m.group()) in stems]

    assert list(highlight_spans(text, stems)) == every_word() and len(every_word()) >= 6
    assert highlight_spans(text, set()) == () and highlight_spans("", stems) == ()
