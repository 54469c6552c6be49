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
        precision=getattr(args, "encoder", None),
        follow_links=getattr(args, "follow_links", None) or None,
    )


def warn(message: str) -> None:
    from indexer.safe_text import safe_text

    print(f"notes-qa: warning: {safe_text(message, keep_newlines=False)}", file=sys.stderr)


def open_index(settings: Settings, *, auto_build: bool = True) -> OpenedSearcher:
    """Open the searcher for ``ask`` and ``eval``, saying on stderr what was built and why.

    With ``auto_build``, a missing, stale or damaged index is rebuilt from the
    notes (``service.open_or_repair``). Without it, any problem is an error that
    says how to rebuild.
    """
    from indexer.service import open_or_repair

    from .progress import ProgressBar

    bar = ProgressBar()

    def repairing(why: str) -> None:
        bar.close()
        warn(f"the index cannot be used ({why}); rebuilding it from {settings.corpus_dir}")

    try:
        opened = open_or_repair(settings, auto_build=auto_build, repair=auto_build, progress=bar, on_repair=repairing)
    finally:
        bar.close()
    if opened.built is not None:
        for message in opened.built.warnings:
            warn(message)
        built = opened.built
        if opened.repaired is not None:
            warn(f"rebuilt the index ({built.chunks} chunks) in {built.seconds:.1f} s")
        else:
            warn(f"built the index first ({built.chunks} chunks; {built.reason}) in {built.seconds:.1f} s")
    for note in opened.notes:
        warn(note)
    return opened
