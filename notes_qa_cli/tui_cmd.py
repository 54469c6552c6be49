"""``notes-qa tui`` (and plain ``notes-qa``): the terminal app."""

from __future__ import annotations

import argparse

from .common import settings_from_args


def run_tui(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    try:
        from tui import AppOptions, run_app
        from tui.state import state_dir
    except ImportError as exc:  # pragma: no cover - the tui package ships with the project
        from indexer.errors import NotesQAError

        raise NotesQAError(f"the terminal app is not installed ({exc})", fix="run: pip install -e .") from exc
    options = AppOptions(question=getattr(args, "question", None) or "", mode=getattr(args, "mode", None),
                         k=getattr(args, "k", None) or 10, state_dir=state_dir())
    return run_app(settings, options)
