"""``notes-qa ask``: answer one question, or many with --batch."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from indexer.errors import UsageError
from indexer.models import SearchFilter
from indexer.safe_text import safe_text
from indexer.search import check_query

from .batch import open_batch, questions
from .common import open_index, settings_from_args, warn
from .output import dumps, format_result, result_to_json

if TYPE_CHECKING:
    from indexer.search import Searcher


def _filters(args: argparse.Namespace) -> SearchFilter:
    """``--path`` globs and ``--heading`` texts (blank ones are a usage error)."""
    for flag, values in (("--path", args.path), ("--heading", args.heading)):
        if any(not v.strip() for v in values):
            raise UsageError(f"{flag} needs a value, e.g. {flag} {'cache*' if flag == '--path' else 'DynamoDB'}")
    return SearchFilter(paths=tuple(v.strip() for v in args.path), headings=tuple(v.strip() for v in args.heading))


def run_ask(args: argparse.Namespace) -> int:
    if args.batch is None and args.question is None:
        raise UsageError('give a question, e.g. notes-qa ask "How big can a DynamoDB item be?", or --batch FILE')
    if args.batch is not None and args.question is not None:
        raise UsageError("give either a question or --batch, not both")
    # Fail fast, before any index work: a bad question, or a batch source that cannot be read, is reported at once.
    if args.question is not None:
        check_query(args.question, args.k, args.mode)
    filters = _filters(args)
    if args.batch is None:
        searcher, corpus_dir, color = _open(args, filters)
        result = searcher.search(args.question, k=args.k, mode=args.mode, filters=filters)
        print(dumps(result_to_json(result, corpus_dir)) if args.json else format_result(result, corpus_dir, color=color))
        return 0
    with open_batch(args.batch) as batch:
        searcher, corpus_dir, color = _open(args, filters)
        # Streamed: each answer is printed (and flushed) before the next line is read.
        for question in questions(batch, "stdin" if args.batch == "-" else args.batch, args.k, args.mode):
            result = searcher.search(question, k=args.k, mode=args.mode, filters=filters)
            if args.json:
                print(dumps(result_to_json(result, corpus_dir, question=question)), flush=True)
            else:
                print(f"Q: {safe_text(question, keep_newlines=False)}\n{format_result(result, corpus_dir, color=color)}\n",
                      flush=True)
    return 0


def _open(args: argparse.Namespace, filters: SearchFilter) -> tuple[Searcher, Path, bool]:
    """The searcher (building the index when needed), the notes folder, and whether to color."""
    settings = settings_from_args(args)
    searcher = open_index(settings, auto_build=not args.no_build).searcher
    allowed = searcher.allowed(filters)
    if allowed is not None and not allowed.any():
        warn("no section of the notes matches --path/--heading, so there are no results")
    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    return searcher, settings.corpus_dir, color
