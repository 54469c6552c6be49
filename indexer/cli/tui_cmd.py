"""``notes-qa tui`` (and plain ``notes-qa``): the terminal app."""

from __future__ import annotations

import argparse

from .common import settings_from_args


def run_tui(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    try:
        from tui import run_app
    except ImportError as exc:  # pragma: no cover - the tui package ships with the project
        from ..errors import NotesQAError

        raise NotesQAError(f"the terminal app is not installed ({exc}); run: pip install -e .") from exc
    return run_app(settings)
