"""The notes-qa terminal app (Textual). The engine lives in ``indexer``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from indexer.settings import Settings


def run_app(settings: Settings) -> int:
    """Open the app over ``settings`` (a simple prompt until the Textual app lands)."""
    from indexer.cli.output import format_result
    from indexer.errors import NotesQAError
    from indexer.service import open_searcher

    searcher = open_searcher(settings).searcher
    while True:
        try:
            question = input("question> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if question.strip():
            try:
                print(format_result(searcher.search(question), settings.corpus_dir))
            except NotesQAError as exc:
                print(f"error: {exc}")
