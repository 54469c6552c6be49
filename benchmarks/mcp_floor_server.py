"""The protocol's floor for ``search_notes``: ``notes-qa mcp``'s own server, tools and transport, no engine.

Usage: python benchmarks/mcp_floor_server.py ANSWER.json

Serves the tools of ``indexer.mcp_server.build_server`` (the same argument and output schemas, the
same SDK server class and stdio transport), but ``search_notes`` returns the answer in ANSWER.json (a
``SearchAnswer`` as the real server sent it) without searching. Timed through the SDK client, it is
what a call costs the client, the pipes and the SDK on both sides for an answer of that size: the
part of the MCP latency no engine work can remove. ``bench_mcp.py`` starts it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from indexer.mcp_server import build_server  # noqa: E402
from indexer.mcp_tools import HitInfo, NotesTools, SearchAnswer  # noqa: E402


class CannedTools:
    """``NotesTools``' search_notes, answering every question with one answer."""

    def __init__(self, answer: SearchAnswer) -> None:
        self.answer = answer

    def search_notes(self, *_: Any) -> SearchAnswer:
        return self.answer


def read_answer(path: Path) -> SearchAnswer:
    data = json.loads(path.read_text(encoding="utf-8"))
    hits = tuple(HitInfo(**{**h, "heading": tuple(h["heading"]), "snippet_lines": tuple(h["snippet_lines"])})
                 for h in data["hits"])
    return SearchAnswer(**{**data, "hits": hits, "warnings": tuple(data["warnings"])})


def main() -> int:
    build_server(cast(NotesTools, CannedTools(read_answer(Path(sys.argv[1]))))).run("stdio")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
