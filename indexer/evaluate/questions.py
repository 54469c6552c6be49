"""The question-set format and relevance: evidence text or accepted section headings."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import EvalError, os_reason
from ..models import Chunk, SearchFilter
from .jsonl import json_object

_SPACE = re.compile(r"\s+")

#: Bounds on a questions file, so a wrong path (a log, a device) fails fast with one line.
MAX_LINE_BYTES = 1 << 20
MAX_QUESTIONS = 100_000


def fold(text: str) -> str:
    """Compare texts ignoring case, white space (incl. non-breaking) and table pipes."""
    return _SPACE.sub(" ", text.replace("|", " ").casefold()).strip()


@dataclass(frozen=True)
class Question:
    """One question. A hit answers it when it holds one of ``evidence`` (exact text, folded)
    or when the last element of its heading path is one of ``accept_headings`` (section level)."""

    id: str
    question: str
    evidence: tuple[str, ...]
    style: str | None = None
    path: str | None = None
    heading: str | None = None
    accept_headings: tuple[str, ...] = ()
    #: "none": the notes do not answer it (an off-topic question; no evidence needed).
    expect: str | None = None
    #: From the optional "filter_path" / "filter_heading" fields: the search is asked with this filter.
    filters: SearchFilter = SearchFilter()

    def folded_evidence(self) -> tuple[str, ...]:
        return tuple(fold(e) for e in self.evidence)

    def answered_by(self, text: str) -> bool:
        folded = fold(text)
        return any(e in folded for e in self.folded_evidence())

    def in_section(self, chunk: Chunk) -> bool:
        """True when ``chunk``'s own section (last heading) is one the question accepts."""
        if not self.accept_headings or not chunk.heading:
            return False
        last = fold(chunk.heading[-1])
        return any(fold(h) == last for h in self.accept_headings)

    def relevant(self, chunk: Chunk, text: str) -> bool:
        """Whether a hit on ``chunk`` showing ``text`` (the chunk's text or its snippet) answers."""
        return self.in_section(chunk) or (bool(self.evidence) and self.answered_by(text))


def _numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """The UTF-8 lines of a regular file, one at a time, each at most MAX_LINE_BYTES."""
    try:
        # stat before opening: opening a FIFO would block until something writes to it
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise EvalError(f"{path} is not a regular file", fix="give a JSONL questions file")
        handle = path.open("rb")
    except OSError as exc:
        raise EvalError(f"cannot read the questions file {path} ({os_reason(exc)})", fix="check the path") from exc
    with handle:
        number = 0
        while True:
            try:
                raw = handle.readline(MAX_LINE_BYTES + 1)
            except OSError as exc:
                raise EvalError(f"cannot read the questions file {path} ({os_reason(exc)})") from exc
            if not raw:
                return
            number += 1
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                raise EvalError(f"{path} line {number} is longer than {MAX_LINE_BYTES // (1 << 20)} MB; is it a questions file?")
            try:
                yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise EvalError(f"{path} line {number} is not UTF-8 text") from exc


def _string_list(record: dict[str, Any], key: str) -> tuple[str, ...] | None:
    """``record[key]`` as a non-empty tuple of non-empty strings; None when absent; ValueError when malformed."""
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(e, str) and fold(e) for e in value):
        raise ValueError(key)
    return tuple(value)


def load_questions(path: Path) -> list[Question]:
    """Read a JSONL question set line by line; a bad line is an error that names the line."""
    questions: list[Question] = []
    seen: set[str] = set()
    for number, line in _numbered_lines(path):
        if not line.strip():
            continue
        if len(questions) >= MAX_QUESTIONS:
            raise EvalError(f"{path} holds more than {MAX_QUESTIONS} questions", fix="split it")
        record = json_object(path, number, line)
        qid, question = record.get("id"), record.get("question")
        if not isinstance(qid, (str, int)) or str(qid) == "":
            raise EvalError(f'{path} line {number}: missing "id"')
        if not isinstance(question, str) or not question.strip():
            raise EvalError(f'{path} line {number}: missing "question" text')
        try:
            evidence, headings = _string_list(record, "evidence"), _string_list(record, "accept_headings")
        except ValueError as exc:
            raise EvalError(f'{path} line {number}: "{exc}" must be a non-empty list of non-empty strings') from exc
        expect = record.get("expect")
        if expect is not None and expect != "none":
            raise EvalError(f'{path} line {number}: "expect" can only be "none" (an off-topic question)')
        if evidence is None and headings is None and expect != "none":
            raise EvalError(
                f'{path} line {number}: "evidence" must be a non-empty list of non-empty strings (or give "accept_headings")'
            )
        if str(qid) in seen:
            raise EvalError(f"{path} line {number}: duplicate id {qid!r}")
        seen.add(str(qid))
        optional = {}
        for key in ("style", "path", "heading"):
            value = record.get(key)
            if value is not None and not isinstance(value, str):
                raise EvalError(f'{path} line {number}: "{key}" must be a string')
            optional[key] = value
        filters = SearchFilter(paths=_strings(record, "filter_path", path, number),
                               headings=_strings(record, "filter_heading", path, number))
        questions.append(Question(str(qid), question, evidence or (), accept_headings=headings or (), expect=expect,
                                  filters=filters, **optional))
    if not questions:
        raise EvalError(f"{path} holds no questions")
    return questions


def _strings(record: dict[str, object], key: str, path: Path, number: int) -> tuple[str, ...]:
    """An optional field holding one non-empty string or a list of them."""
    value = record.get(key)
    if value is None:
        return ()
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v.strip() for v in values):
        raise EvalError(f'{path} line {number}: "{key}" must be a non-empty string or a list of them')
    return tuple(v.strip() for v in values)
