"""Settings from flags and environment, shared by the commands."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from indexer.settings import Settings

if TYPE_CHECKING:
    from indexer.service import OpenedSearcher


def settings_from_args(args: argparse.Namespace) -> Settings:
    return Settings.from_env().with_overrides(
        corpus_dir=getattr(args, "corpus", None),
        index_dir=getattr(args, "index", None),
        model_dir=getattr(args, "model", None),
        encoder=getattr(args, "encoder", None),
        follow_links=getattr(args, "follow_links", None) or None,
    )


def warn(message: str) -> None:
    from indexer.safe_text import safe_text

    print(f"notes-qa: warning: {safe_text(message, keep_newlines=False)}", file=sys.stderr)


def open_index(settings: Settings, *, auto_build: bool = True) -> OpenedSearcher:
    """Open the searcher for ``ask`` and ``eval``, saying on stderr what was built and why.

    With ``auto_build``, a missing, stale or damaged index is rebuilt from the
    notes (a damaged one is only discovered when its files are checked, so it is
    rebuilt after the first attempt to load it fails). Without it, any problem
    is an error that says how to rebuild.
    """
    from indexer.build import build_index
    from indexer.errors import IndexFileError, IndexLockedError, IndexWriteError
    from indexer.index_files import problem
    from indexer.service import open_searcher

    from .progress import ProgressBar

    bar = ProgressBar()
    try:
        try:
            opened = open_searcher(settings, auto_build=auto_build, progress=bar)
        except (IndexLockedError, IndexWriteError):
            raise  # rebuilding would fail the same way
        except IndexFileError as exc:
            if not auto_build:
                raise
            bar.close()
            warn(f"the index cannot be used ({problem(exc)}); rebuilding it from {settings.corpus_dir}")
            report = build_index(settings, full=True, progress=bar, wait_seconds=600)
            opened = open_searcher(settings, auto_build=False, progress=bar)
            bar.close()
            for message in report.warnings:
                warn(message)
            warn(f"rebuilt the index ({report.chunks} chunks) in {report.seconds:.1f} s")
    finally:
        bar.close()
    if opened.built is not None:
        for message in opened.built.warnings:
            warn(message)
        built = opened.built
        warn(f"built the index first ({built.chunks} chunks; {built.reason}) in {built.seconds:.1f} s")
    for note in opened.notes:
        warn(note)
    return opened
