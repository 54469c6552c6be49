"""ruff and mypy (configured in pyproject.toml) stay clean."""

from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT


def test_ruff_is_clean() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "indexer", "tui", "tests", "benchmarks", "scripts", "eval"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_is_clean() -> None:
    done = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
