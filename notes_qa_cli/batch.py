"""Questions of ``notes-qa ask --batch``, read one line at a time.

A batch is streamed: each question is answered as soon as its line is read, so
``yes q | notes-qa ask --batch -`` prints answers with bounded memory until the
pipe closes or Ctrl+C. A line is read up to :data:`MAX_LINE_BYTES`; a longer
one is an error naming it, and so is any other bad line (answers to the lines
before it are already printed). A source that never ends and is not a stream a
person or program feeds (a device such as ``/dev/zero``) is refused before any
index work.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterator
from typing import BinaryIO

from indexer.errors import UsageError
from indexer.search import check_query

#: A question is cut at 4,000 characters (``search.MAX_QUERY_CHARS``); a JSONL line may carry other
#: fields (ids, evidence), so a line may be 16x that before it is refused.
MAX_LINE_BYTES = 64 * 1024


def open_batch(source: str) -> BinaryIO:
    """Open a batch file, or stdin for ``-``; refuse what is neither a file nor a stream (a device)."""
    name = "stdin" if source == "-" else source
    try:
        if source == "-":
            if sys.stdin is None:
                raise UsageError("cannot read the batch from stdin (it is closed)", fix="pipe questions in or give a FILE")
            handle: BinaryIO = open(0, "rb", closefd=False)  # noqa: SIM115
        else:
            handle = open(source, "rb")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"cannot read the batch file {source} ({exc.strerror})", fix="check the path") from exc
    mode = os.fstat(handle.fileno()).st_mode
    if stat.S_ISDIR(mode):
        handle.close()
        raise UsageError(f"the batch file {source} is a folder", fix="give a file of questions")
    if (stat.S_ISCHR(mode) or stat.S_ISBLK(mode)) and not os.isatty(handle.fileno()):
        handle.close()
        raise UsageError(f"the batch {name} is a device, not a file of questions", fix="give a file or a pipe")
    return handle


def questions(handle: BinaryIO, source: str, k: int = 5, mode: str = "hybrid") -> Iterator[str]:
    """Each question of the batch, checked, as it is read; a bad line is an error naming it."""
    count = 0
    for number, line in _lines(handle, source):
        question = _question(line, source, number)
        if question is None:
            continue
        try:
            check_query(question, k, mode)
        except UsageError as exc:
            raise UsageError(f"{source} line {number}: {exc}") from None
        count += 1
        yield question
    if not count:
        raise UsageError(f"{source} holds no questions; put one question per line")


def _lines(handle: BinaryIO, source: str) -> Iterator[tuple[int, str]]:
    number = 0
    while True:
        raw = handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            raise UsageError(
                f"{source} line {number} is longer than {MAX_LINE_BYTES // 1024} KiB; put one question per line"
            )
        try:
            yield number, raw.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"{source} line {number} is not UTF-8 text") from None


def _question(line: str, source: str, number: int) -> str | None:
    """The question of one line (plain text, or JSONL with a "question" field); None for a blank line."""
    line = line.strip()
    if not line:
        return None
    if not line.startswith("{"):
        return line
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{source} line {number}: bad JSON ({exc.msg})") from exc
    question = record.get("question") if isinstance(record, dict) else None
    if not isinstance(question, str) or not question.strip():
        raise UsageError(f'{source} line {number}: a JSON line needs a non-empty "question" string')
    return question
