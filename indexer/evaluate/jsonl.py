"""One line of a JSONL input file, parsed into an object or refused with its line number."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import EvalError


def json_object(path: Path, number: int, line: str) -> dict[str, Any]:
    """Parse line ``number`` of ``path``: a JSON object, or an EvalError naming the line."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise EvalError(f"{path} line {number}: bad JSON ({exc.msg})") from exc
    if not isinstance(record, dict):
        raise EvalError(f"{path} line {number}: expected a JSON object")
    return record
