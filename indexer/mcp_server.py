"""``notes-qa mcp``: the engine as a Model Context Protocol server on stdio (official ``mcp`` SDK).

Three tools (``search_notes``, ``read_note``, ``index_status``) over one warm
index that refreshes itself when the notes change. stdout carries protocol
messages only: while the index loads, file descriptor 1 points at stderr (so a
library that prints cannot corrupt the stream), and while serving the SDK does
the same. Logs go to stderr. A ``NotesQAError`` becomes a tool error carrying
the CLI's one-line message; the server keeps serving.

This module imports the SDK at import time; only ``cli/mcp_cmd.py`` imports it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator
from typing import Annotated, Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field, ValidationError

from . import __version__
from .errors import NotesQAError
from .live_index import LiveIndex
from .mcp_tools import MAX_K, IndexInfo, NotesTools, SearchAnswer
from .modes import MODES
from .note_reader import MAX_LINES, NoteLines
from .safe_text import safe_text
from .settings import Settings

log = logging.getLogger("notes_qa.mcp")
T = TypeVar("T")

INSTRUCTIONS = (
    "Answers questions from the user's Markdown study notes, offline. Call search_notes with a question; "
    "each hit names a note path and line numbers, and read_note returns those lines (and the ones around them)."
)


def one_line(message: object) -> str:
    """A message as one harmless line, as the CLI prints it."""
    return safe_text(str(message), keep_newlines=False)


def _tool_call(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except NotesQAError as exc:
        raise ToolError(one_line(exc.with_fix())) from exc


class NotesMCPServer(MCPServer[Any]):
    """MCPServer whose argument errors are one line too (pydantic's own text spans several)."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if not isinstance(cause, ValidationError):
                raise
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}" for err in cause.errors()
            )
            raise ToolError(one_line(f"bad arguments for {name}: {problems}")) from cause


def build_server(tools: NotesTools) -> MCPServer[Any]:
    server = NotesMCPServer("notes-qa", version=__version__, instructions=INSTRUCTIONS, log_level="INFO")

    def search_notes(
        query: Annotated[str, Field(description='the question, e.g. "How big can a DynamoDB item be?"')],
        k: Annotated[int, Field(description="how many hits", json_schema_extra={"minimum": 1, "maximum": MAX_K})] = 5,
        mode: Annotated[
            str, Field(description="ranking: meaning and words (hybrid), meaning only, or words only",
                       json_schema_extra={"enum": list(MODES)})
        ] = "hybrid",
        path: Annotated[
            str | None, Field(description="only notes whose path matches this glob or folder, e.g. database.md or aws/")
        ] = None,
        heading: Annotated[
            str | None, Field(description="only sections with a heading containing this text, e.g. DynamoDB")
        ] = None,
    ) -> SearchAnswer:
        """Search the notes for the passages that answer a question, best first.

        Each hit: rank, score (higher is better), path (relative to the notes folder; pass it to read_note),
        heading (the section path), start_line/end_line of the passage, answer_line (the line that best answers,
        when judged), snippet (the answering lines) and snippet_lines (their line numbers). match says how well
        the notes answer overall ("good", "weak" or "none", when judged).
        """
        return _tool_call(lambda: tools.search_notes(query, k, mode, path, heading))

    def read_note(
        path: Annotated[str, Field(description="the note's path relative to the notes folder, as search_notes gives it")],
        start_line: Annotated[int | None, Field(description="first line (1-based; default 1)")] = None,
        end_line: Annotated[int | None, Field(description="last line, inclusive (default: the end)")] = None,
    ) -> NoteLines:
        """Read lines of one note, each with its line number (the numbers search_notes hits refer to).

        Only notes inside the notes folder can be read. At most {max_lines} lines per call; truncated is true
        when the range was cut, and total_lines says how long the note is.
        """
        return _tool_call(lambda: tools.read_note(path, start_line, end_line))

    def index_status() -> IndexInfo:
        """Describe the index: notes, chunks, model, precision and backend, when it was built, and whether it is fresh.

        state is "fresh" (matches the notes), "stale" (notes changed; the next search refreshes it), "missing"
        or "broken" (the next search builds it).
        """
        return _tool_call(tools.index_status)

    read_note.__doc__ = (read_note.__doc__ or "").format(max_lines=MAX_LINES)
    for fn in (search_notes, read_note, index_status):
        server.add_tool(fn)
    return server


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send everything written to stdout (Python or C, by fd 1) to stderr until the block ends."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 1)
        os.close(saved)


def serve(settings: Settings) -> int:
    """Load the index, then serve on stdin/stdout until the client closes stdin."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("notes-qa mcp: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])  # before the SDK's, which would use rich
    for name in ("notes_qa", "mcp"):  # our progress, and the SDK's one line per failed tool call
        logging.getLogger(name).setLevel(logging.INFO)
    # The question encoder's threads sleep between calls instead of spin-waiting: the server shares the
    # machine with its client, and on this 2-core VM under load, spin-waiting threads made each call
    # 3x slower (MCP p50 66 ms with spinning, 22 ms without; in-process 49 / 26 ms; 2026-12-02).
    tools = NotesTools(settings, LiveIndex(settings, spin=False))
    with stdout_to_stderr():
        try:
            tools.live.get()
        except NotesQAError as exc:  # the tools report it (and retry) on each call
            log.warning("the index is not ready: %s", one_line(exc))
        server = build_server(tools)
    log.info("serving %s on stdio", settings.corpus_dir)
    server.run("stdio")
    return 0
