"""The pure functions that turn hits into Content."""

from __future__ import annotations

from dataclasses import replace

from indexer.models import Chunk, Hit, Snippet, Span
from tui.render import hit_prompt, line_spans, literal, preview, score_bar


def styled(content: object) -> list[tuple[str, str]]:
    plain = content.plain  # type: ignore[attr-defined]
    return [(plain[s.start : s.end], str(s.style)) for s in content.spans]  # type: ignore[attr-defined]


def test_literal_keeps_markup_and_makes_controls_visible() -> None:
    content = literal("[bold]a[/bold] \x1b[31mred\x07 \u202e")
    assert content.plain == "[bold]a[/bold] ␛[31mred␇ <U+202E>"
    assert content.spans == []


def test_highlight_spans_move_with_made_safe_text() -> None:
    text = "\u202e\x1bword and more"
    spans = [(2, 6), (11, 15)]  # "word", "more"
    content = literal(text, spans, style="bold")
    assert [t for t, _ in styled(content)] == ["word", "more"]


def test_tabs_become_spaces_and_spans_follow() -> None:
    content = literal("\tkey", [(1, 4)], style="bold")
    assert content.plain == "    key"
    assert styled(content) == [("key", "bold")]


def test_line_spans_split_highlights_per_line() -> None:
    spans = (Span(2, 5), Span(8, 11))
    assert line_spans("a big\nsome cat", spans) == [("a big", [(2, 5)]), ("some cat", [(2, 5)])]


def test_score_bar_fills_to_a_fraction() -> None:
    assert score_bar(1.0).plain == "█" * 8
    assert score_bar(0.5).plain == "████    "
    assert score_bar(-0.3).plain == " " * 8
    assert score_bar(1.7).plain == "█" * 8
    assert len(score_bar(0.33).plain) == 8


def test_score_bar_is_absolute_not_relative_to_rank_one() -> None:
    """A poor best hit draws a short bar: the bar shows the answer line's cosine, not the rank."""
    poor, close = replace(_hit(), answer_score=0.25), replace(_hit(), answer_score=0.9)
    assert hit_prompt(poor).plain.split("\n")[0].startswith(" 1 ▋        0.25  ")
    assert hit_prompt(close).plain.split("\n")[0].startswith(" 1 ████████ 0.90  ")


def _hit() -> Hit:
    chunk = Chunk("c1", "db.md", ("Database", "DynamoDB"), 3, 9,
                  "## DynamoDB\n- store\n  - Maximum size of an item is 400KB\n- TTL", (3, 5, 6, 9))
    text = "- Maximum size of an item is 400KB"
    snippet = Snippet(text, 6, 6, (Span(2, 9), Span(21, 25)))
    return Hit(1, 0.8, chunk, snippet, answer_line=6, answer_score=0.55)


def test_hit_prompt_lines() -> None:
    lines = hit_prompt(_hit()).plain.split("\n")
    assert lines[0] == " 1 ████     0.55  Database > DynamoDB"
    assert lines[1] == "   db.md:6"
    assert lines[2] == "   › - Maximum size of an item is 400KB"


def _long_hit(answer_line: int) -> Hit:
    lines = [f"- fact number {n} about tables" for n in range(1, 9)]
    chunk = Chunk("c3", "t.md", ("T",), 1, 8, "\n".join(lines))
    shown = [1, 2, 3, 5, 6, 8]
    text = "\n".join(lines[n - 1] for n in shown)
    return Hit(1, 1.0, chunk, Snippet(text, 1, 8, (), tuple(shown)), answer_line=answer_line, answer_score=0.7)


def test_hit_prompt_marks_gaps_and_keeps_the_answer_near_the_top() -> None:
    body = [line.strip() for line in hit_prompt(_long_hit(6)).plain.split("\n")[2:]]
    # Lines 1-3 are cut to the one just before the answer; 4 and 7 were left out of the snippet.
    assert body == ["…", "- fact number 5 about tables", "› - fact number 6 about tables", "…",
                    "- fact number 8 about tables"]
    body = [line.strip() for line in hit_prompt(_long_hit(2)).plain.split("\n")[2:]]
    assert body == ["- fact number 1 about tables", "› - fact number 2 about tables", "- fact number 3 about tables",
                    "…", "- fact number 5 about tables", "- fact number 6 about tables", "…",
                    "- fact number 8 about tables"]


def test_preview_numbers_lines_and_marks_the_answer() -> None:
    shown = preview(_hit())
    lines = shown.content.plain.split("\n")
    assert lines[:3] == ["Database > DynamoDB", "db.md:3-9", ""]
    assert lines[3:] == [" 3 │ ## DynamoDB", " 5 │ - store", "›6 │   - Maximum size of an item is 400KB", " 9 │ - TTL"]
    assert shown.answer_rows == (5, 5) and shown.best_row == 5
    marked = [t for t, style in styled(shown.content) if "text-accent" in style]
    assert marked == ["Maximum", "item"]


def test_preview_marks_only_the_snippet_lines_when_they_skip() -> None:
    chunk = Chunk("c2", "n.md", ("N",), 1, 4, "- alpha one\n- beta\n- gamma two", (1, 2, 4))
    snippet = Snippet("- alpha one\n- gamma two", 1, 4, (Span(2, 7), Span(14, 19)), (1, 4))
    shown = preview(Hit(1, 1.0, chunk, snippet))
    lines = shown.content.plain.split("\n")[3:]
    assert lines == ["▌1 │ - alpha one", " 2 │ - beta", "▌4 │ - gamma two"]
    assert shown.answer_rows == (3, 5)
    marked = [t for t, style in styled(shown.content) if "text-accent" in style]
    assert marked == ["alpha", "gamma"]
