"""Argument parsing and the one place where errors become a message and an exit code."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from indexer import __version__
from indexer.errors import EXIT_INTERRUPTED, EXIT_USAGE, NotesQAError
from indexer.model_files import offline_model_env
from indexer.settings import PRECISIONS

from .interrupts import MESSAGE as INTERRUPTED
from .interrupts import Interrupts


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"notes-qa: error: {_one_line(message)} (see: {self.prog} --help)\n")


def _one_line(message: object) -> str:
    """A message as one harmless line: control characters (from paths, notes) made visible."""
    from indexer.safe_text import safe_text

    return safe_text(str(message), keep_newlines=False)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _paths(parser: argparse.ArgumentParser, *, model: bool = True) -> None:
    parser.add_argument("--corpus", type=Path, help="folder of notes (default: $NOTES_QA_CORPUS or ./corpus)")
    parser.add_argument("--index", type=Path, help="index folder (default: $NOTES_QA_INDEX or ./index)")
    parser.add_argument("--follow-links", action="store_true", default=None,
                        help="also read notes through links leading outside the corpus (default: skip them with a "
                        "warning; $NOTES_QA_FOLLOW_LINKS=1)")
    if model:
        parser.add_argument(
            "--model", type=Path, help="local sentence-transformers model folder (default: bundled all-MiniLM-L6-v2)"
        )


def _encoder(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--encoder",
        choices=PRECISIONS,
        help=f"how {what} is embedded: fp32 = the model's own vectors (default for a new index), "
        "int8 = quantized, about 2x faster to build, slightly different vectors "
        "(default: $NOTES_QA_ENCODER, else what the index already uses); changing it rebuilds everything",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="notes-qa",
        description="Semantic question answering over a folder of Markdown notes, offline.",
        epilog="With no command, opens the terminal app (notes-qa tui).",
    )
    parser.add_argument("--version", action="version", version=f"notes-qa {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    p_index = sub.add_parser("index", help="build or refresh the index", description="Build or refresh the index.")
    _paths(p_index)
    p_index.add_argument("--full", action="store_true", help="re-embed everything instead of reusing vectors")
    p_index.add_argument("--json", action="store_true", help="print the build report as JSON")
    p_index.add_argument(
        "--store", metavar="URI",
        help="where the vectors go: faiss (files in the index folder, the default for a new index), a Milvus Lite "
        "file such as ./notes.db, or a Milvus server such as http://localhost:19530 (needs the milvus extra); "
        "default: $NOTES_QA_STORE, else what the index already uses",
    )
    _encoder(p_index, "the index")

    p_ask = sub.add_parser("ask", help="answer a question from the notes", description="Answer questions.")
    p_ask.add_argument("question", nargs="?", help="the question (omit with --batch)")
    p_ask.add_argument("-k", type=_positive_int, default=5, help="number of results (default 5)")
    p_ask.add_argument("--mode", choices=("hybrid", "dense", "keyword"), default="hybrid", help="ranking (default hybrid)")
    p_ask.add_argument("--json", action="store_true", help="print JSON")
    p_ask.add_argument("--batch", metavar="FILE", help="questions from FILE (or - for stdin): lines or JSONL")
    p_ask.add_argument("--no-build", action="store_true", help="never build or refresh the index")
    p_ask.add_argument("--path", action="append", default=[], metavar="GLOB",
                       help="only notes whose path (or file name, or folder) matches GLOB, e.g. 'cache*' (repeatable)")
    p_ask.add_argument("--heading", action="append", default=[], metavar="TEXT",
                       help="only sections with TEXT in any heading of their path, any case (repeatable)")
    _paths(p_ask)

    p_eval = sub.add_parser("eval", help="score retrieval on a question set", description="Evaluate retrieval.")
    p_eval.add_argument("questions", nargs="?", type=Path, help="JSONL questions with evidence")
    p_eval.add_argument("--beir", type=Path, metavar="DIR", help="a BEIR-format dataset folder instead")
    p_eval.add_argument("--split", default="test", help="BEIR qrels split (default test)")
    p_eval.add_argument("--mode", choices=("hybrid", "dense", "keyword"), default="hybrid")
    p_eval.add_argument("--all-modes", action="store_true", help="evaluate every mode")
    p_eval.add_argument("-k", type=_positive_int, default=10, help="cut-off (default 10)")
    p_eval.add_argument("--json", action="store_true", help="print JSON")
    p_eval.add_argument("--limit", type=_positive_int, help="only the first N questions")
    _encoder(p_eval, "the index (or the --beir dataset's cached index)")
    _paths(p_eval)

    p_mcp = sub.add_parser("mcp", help="serve the notes to AI assistants (MCP, stdio)", description="MCP server on stdio.")
    _paths(p_mcp)
    p_watch = sub.add_parser("watch", help="keep the index fresh while the notes change",
                             description="Watch the notes and refresh the index after each change, until Ctrl+C.")
    _paths(p_watch)
    p_watch.add_argument("--json", action="store_true", help="print one JSON object per event")
    p_watch.add_argument("--quiet-ms", type=_positive_int, default=300, metavar="MS",
                         help="refresh once the notes were quiet this long (default 300)")

    p_verify = sub.add_parser("verify", help="hash every index file and note against the index's manifest",
                              description="Check the whole index (every byte) and the notes against the manifest.")
    _paths(p_verify, model=False)
    p_verify.add_argument("--json", action="store_true", help="print the result as JSON")

    p_tui = sub.add_parser("tui", help="open the terminal app (the default)", description="Open the terminal app.")
    p_tui.add_argument("question", nargs="?", help="a question, asked as soon as the index is ready")
    p_tui.add_argument("--mode", choices=("hybrid", "dense", "keyword"), help="ranking (default: the last one used)")
    p_tui.add_argument("-k", type=_positive_int, default=10, help="number of results (default 10)")
    _paths(p_tui)
    return parser


def main(argv: Sequence[str] | None = None, interrupts: Interrupts | None = None) -> int:
    """Parse and run one command; errors become one line on stderr and an exit code.

    ``interrupts`` (from the process entry, ``notes_qa_cli``) tells whether a
    Ctrl+C came, even when a library turned it into another error.
    """
    command = None
    try:
        offline_model_env()
        args = build_parser().parse_args(argv)
        command = args.command
        if args.command == "index":
            from .index_cmd import run_index

            return run_index(args)
        if args.command == "ask":
            from .ask_cmd import run_ask

            return run_ask(args)
        if args.command == "eval":
            from .eval_cmd import run_eval

            return run_eval(args)
        if args.command == "mcp":
            from .mcp_cmd import run_mcp

            return run_mcp(args)
        if args.command == "verify":
            from .verify_cmd import run_verify

            return run_verify(args)
        if args.command == "watch":
            from .watch_cmd import run_watch

            return run_watch(args)
        from .tui_cmd import run_tui

        return run_tui(args)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt) or (interrupts is not None and interrupts.received):
            if interrupts is not None:
                interrupts.finish()
            kept = "; the previous index is kept" if command in ("index", "ask", "eval") else ""
            print(f"{INTERRUPTED}{kept}", file=sys.stderr)
            return EXIT_INTERRUPTED
        if isinstance(exc, NotesQAError):
            print(f"notes-qa: error: {_one_line(exc)}", file=sys.stderr)
            if exc.fix:  # the fix on a line of its own
                print(f"notes-qa: {_one_line(exc.fix)}", file=sys.stderr)
            return exc.exit_code
        if isinstance(exc, BrokenPipeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 0
        raise
