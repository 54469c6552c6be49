"""How results are printed: for people, and as JSON for scripts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..models import Hit, SearchResult
from ..safe_text import safe_text


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
            "results": [hit_to_json(h, corpus_dir) for h in result.hits],
        }
    )
    if result.warnings:
        payload["warnings"] = list(result.warnings)
    return payload


def dumps(payload: Any) -> str:
    # ensure_ascii keeps escape characters from notes as \u001b in the JSON text.
    return json.dumps(payload, ensure_ascii=True)


def format_result(result: SearchResult, corpus_dir: Path, *, color: bool = False) -> str:
    if not result.hits:
        return f"No answer found in the notes for: {safe_text(result.query, keep_newlines=False)}"
    bold, dim, reset = ("\x1b[1m", "\x1b[2m", "\x1b[0m") if color else ("", "", "")
    lines = []
    for hit in result.hits:
        heading = safe_text(hit.chunk.heading_path or hit.chunk.path, keep_newlines=False)
        where = safe_text(f"{display_path(corpus_dir, hit.chunk.path)}:{hit.snippet.start_line}", keep_newlines=False)
        lines.append(f"{bold}{hit.rank}. {heading}{reset}  {dim}{where}  score {hit.score:.3f}{reset}")
        for text in safe_text(hit.snippet.text).split("\n"):
            lines.append(f"   {text}")
        lines.append("")
    return "\n".join(lines).rstrip("\n")
