"""How results are printed: for people, and as JSON for scripts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from indexer.models import Hit, SearchResult
from indexer.safe_text import safe_text
from indexer.snippets import answer_location, gaps_before

#: What the plain output says above the results when the notes do not answer well.
MATCH_LINES = {
    "none": "No good match in your notes; the nearest passages follow.",
    "weak": "Weak match: these passages may not answer the question.",
}
ANSWER_MARK = "›"


def display_path(corpus_dir: Path, rel: str) -> str:
    return (corpus_dir / rel).as_posix()


def hit_to_json(hit: Hit, corpus_dir: Path) -> dict[str, Any]:
    return {
        "rank": hit.rank,
        "score": round(hit.score, 6),
        "path": display_path(corpus_dir, hit.chunk.path),
        "heading": list(hit.chunk.heading),
        "start_line": hit.chunk.start_line,
        "end_line": hit.chunk.end_line,
        "text": hit.chunk.text,
        "snippet": hit.snippet.text,
        "snippet_start_line": hit.snippet.start_line,
        "snippet_end_line": hit.snippet.end_line,
        "highlights": [[s.start, s.end] for s in hit.snippet.highlights],
        "answer_line": hit.answer_line,
        "answer_score": None if hit.answer_score is None else round(hit.answer_score, 6),
        "dense_score": None if hit.dense_score is None else round(hit.dense_score, 6),
        "keyword_score": None if hit.keyword_score is None else round(hit.keyword_score, 6),
        "chunk_id": hit.chunk.id,
    }


def result_to_json(result: SearchResult, corpus_dir: Path, question: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if question is not None:
        payload["question"] = question
    payload.update(
        {
            "query": result.query,
            "mode": result.mode,
            "seconds": round(result.seconds, 6),
            "match": result.match,
            "results": [hit_to_json(h, corpus_dir) for h in result.hits],
        }
    )
    if result.warnings:
        payload["warnings"] = list(result.warnings)
    return payload


def dumps(payload: Any) -> str:
    # ensure_ascii keeps escape characters from notes as \u001b in the JSON text.
    return json.dumps(payload, ensure_ascii=True)


def snippet_rows(hit: Hit) -> list[tuple[str, str]]:
    """(kind, text) per printed snippet line: kind is "answer" (the best line),
    "line", or "gap" (a "…" row where lines of the chunk were left out)."""
    texts = hit.snippet.text.split("\n")
    numbers = hit.snippet.line_numbers if len(hit.snippet.line_numbers) == len(texts) else (None,) * len(texts)
    rows: list[tuple[str, str]] = []
    for text, number, gap in zip(texts, numbers, gaps_before(hit.chunk, hit.snippet)):
        if gap:
            rows.append(("gap", "…"))
        rows.append(("answer" if number is not None and number == hit.answer_line else "line", text))
    return rows


def format_result(result: SearchResult, corpus_dir: Path, *, color: bool = False) -> str:
    if not result.hits:
        return f"No answer found in the notes for: {safe_text(result.query, keep_newlines=False)}"
    bold, dim, reset = ("\x1b[1m", "\x1b[2m", "\x1b[0m") if color else ("", "", "")
    lines = []
    if result.match in MATCH_LINES:
        lines += [f"{bold}{MATCH_LINES[result.match]}{reset}", ""]
    for hit in result.hits:
        heading = safe_text(hit.chunk.heading_path or hit.chunk.path, keep_newlines=False)
        where = safe_text(f"{display_path(corpus_dir, hit.chunk.path)}:{answer_location(hit)}", keep_newlines=False)
        lines.append(f"{bold}{hit.rank}. {heading}{reset}  {dim}{where}  score {hit.score:.3f}{reset}")
        for kind, text in snippet_rows(hit):
            shown = safe_text(text, keep_newlines=False)
            if kind == "answer":
                lines.append(f" {bold}{ANSWER_MARK} {shown}{reset}")
            elif kind == "gap":
                lines.append(f"   {dim}{shown}{reset}")
            else:
                lines.append(f"   {shown}")
        lines.append("")
    return "\n".join(lines).rstrip("\n")
