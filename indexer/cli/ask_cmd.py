"""``notes-qa ask``: answer one question, or many with --batch."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from ..errors import UsageError
from ..models import SearchFilter
from ..safe_text import safe_text
from ..search import check_query
from .common import open_index, settings_from_args, warn
from .output import dumps, format_result, result_to_json


def read_batch(source: str, k: int = 5, mode: str = "hybrid") -> list[str]:
    """All questions of a batch file, each checked; a bad one is an error naming its line."""
    questions = []
    for number, question in _batch_lines(source):
        try:
            check_query(question, k, mode)
        except UsageError as exc:
            raise UsageError(f"{source} line {number}: {exc}") from None
        questions.append(question)
    if not questions:
        raise UsageError(f"{source} holds no questions; put one question per line")
    return questions


def _batch_lines(source: str) -> Iterator[tuple[int, str]]:
    """Questions from a file or stdin: plain lines or JSONL with a "question" field."""
    try:
        handle = sys.stdin if source == "-" else open(source, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"cannot read the batch file {source} ({exc.strerror}); check the path") from exc
    with handle:
        try:
            for number, raw in enumerate(handle, start=1):
                line = raw.strip()
                if not line:
                    continue
                if line.startswith("{"):
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise UsageError(f"{source} line {number}: bad JSON ({exc.msg})") from exc
                    question = record.get("question") if isinstance(record, dict) else None
                    if not isinstance(question, str) or not question.strip():
                        raise UsageError(f'{source} line {number}: a JSON line needs a non-empty "question" string')
                    yield number, question
                else:
                    yield number, line
        except UnicodeDecodeError as exc:
            raise UsageError(f"{source} is not UTF-8 text") from exc


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
    # Fail fast, before any index work: a bad question or batch file is reported at once.
    if args.question is not None:
        check_query(args.question, args.k, args.mode)
    questions = read_batch(args.batch, args.k, args.mode) if args.batch is not None else []
    filters = _filters(args)
    settings = settings_from_args(args)
    searcher = open_index(settings, auto_build=not args.no_build).searcher
    corpus_dir: Path = settings.corpus_dir
    allowed = searcher.allowed(filters)
    if allowed is not None and not allowed.any():
        warn("no section of the notes matches --path/--heading, so there are no results")
    color = sys.stdout.isatty() and "NO_COLOR" not in __import__("os").environ
    if args.batch is None:
        result = searcher.search(args.question, k=args.k, mode=args.mode, filters=filters)
        print(dumps(result_to_json(result, corpus_dir)) if args.json else format_result(result, corpus_dir, color=color))
        return 0
    for question in questions:
        result = searcher.search(question, k=args.k, mode=args.mode, filters=filters)
        if args.json:
            print(dumps(result_to_json(result, corpus_dir, question=question)), flush=False)
        else:
            print(f"Q: {safe_text(question, keep_newlines=False)}\n{format_result(result, corpus_dir, color=color)}\n")
    return 0
