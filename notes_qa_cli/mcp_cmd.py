"""``notes-qa mcp``: serve the notes to AI assistants and editors over the Model Context Protocol (stdio)."""

from __future__ import annotations

import argparse

from indexer.errors import NotesQAError

from .common import settings_from_args


def run_mcp(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    try:
        from indexer.mcp_server import serve
    except ImportError as exc:  # pragma: no cover - mcp is a dependency
        raise NotesQAError(f"the MCP server needs the mcp package ({exc})", fix="run: pip install 'mcp>=2,<3'") from exc
    return serve(settings)
