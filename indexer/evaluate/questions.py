"""The question-set format and evidence matching."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import EvalError, os_reason
from ..models import SearchFilter
from ..safe_read import read_text
from .jsonl import json_object

_SPACE = re.compile(r"\s+")


def fold(text: str) -> str:
    """Compare texts ignoring case, white space (incl. non-breaking) and table pipes."""
    return _SPACE.sub(" ", text.replace("|", " ").casefold()).strip()


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    evidence: tuple[str, ...]
    style: str | None = None
    path: str | None = None
    heading: str | None = None
    #: "none": the notes do not answer it (an off-topic question; no evidence needed).
    expect: str | None = None
    #: From the optional "filter_path" / "filter_heading" fields: the search is asked with this filter.
    filters: SearchFilter = SearchFilter()

    def folded_evidence(self) -> tuple[str, ...]:
        return tuple(fold(e) for e in self.evidence)

    def answered_by(self, text: str) -> bool:
        folded = fold(text)
        return any(e in folded for e in self.folded_evidence())


def load_questions(path: Path) -> list[Question]:
    """Read a JSONL question set; a bad line is an error that names the line."""
    try:
        raw = read_text(path, 1 << 30, encoding="utf-8-sig")
    except OSError as exc:
        raise EvalError(f"cannot read the questions file {path} ({os_reason(exc)}); check the path") from exc
    except UnicodeDecodeError as exc:
        raise EvalError(f"{path} is not UTF-8 text") from exc
    questions: list[Question] = []
    seen: set[str] = set()
    for number, line in enumerate(raw.split("\n"), start=1):
        if not line.strip():
            continue
        record = json_object(path, number, line)
        qid, question, evidence = record.get("id"), record.get("question"), record.get("evidence")
        if not isinstance(qid, (str, int)) or str(qid) == "":
            raise EvalError(f'{path} line {number}: missing "id"')
        if not isinstance(question, str) or not question.strip():
            raise EvalError(f'{path} line {number}: missing "question" text')
        expect = record.get("expect")
        if expect is not None and expect != "none":
            raise EvalError(f'{path} line {number}: "expect" can only be "none" (an off-topic question)')
        if expect == "none" and evidence in (None, []):
            evidence = []
        elif (
            not isinstance(evidence, list)
            or not evidence
            or not all(isinstance(e, str) and fold(e) for e in evidence)
        ):
            raise EvalError(f'{path} line {number}: "evidence" must be a non-empty list of non-empty strings')
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
        questions.append(Question(str(qid), question, tuple(evidence), expect=expect, **optional, filters=filters))
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
