"""``notes-qa watch``: keep the index fresh while the notes change, until Ctrl+C."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from typing import TYPE_CHECKING

from indexer.errors import EXIT_INTERRUPTED, NotesQAError
from indexer.safe_text import safe_text

from .common import settings_from_args, warn

if TYPE_CHECKING:
    from indexer.build import BuildReport
    from indexer.embedder import Embedder
    from indexer.note_changes import NoteChanges
    from indexer.settings import Settings


class _Builder:
    """Incremental builds that keep the model, its tokenizer and the encoder loaded between refreshes."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._embedder: Embedder | None = None

    def build(self) -> BuildReport:
        from indexer.build import build_index
        from indexer.embedder_factory import embedder_for_build
        from indexer.index_files import current_build
        from indexer.manifest import read_manifest
        from indexer.model_files import resolve_model
        from indexer.tokens import HFTokenCounter

        model = resolve_model(self.settings.model_dir)
        precision = self.settings.precision
        if precision is None:
            folder = current_build(self.settings.index_dir)
            try:
                precision = read_manifest(folder).encoder.precision if folder is not None else "fp32"
            except NotesQAError:
                precision = "fp32"
        if self._embedder is None or self._embedder.precision != precision:
            self._embedder = embedder_for_build(model, self.settings.cache_dir, precision)
        return build_index(self.settings, embedder=self._embedder, token_counter=HFTokenCounter(model.tokenizer_json),
                           model=model, wait_seconds=600)


def _say(args: argparse.Namespace, event: dict[str, object], text: str, *, error: bool = False) -> None:
    if args.json:
        print(json.dumps(event, ensure_ascii=False), flush=True)
    elif error:
        print(f"notes-qa: error: {safe_text(text, keep_newlines=False)}", file=sys.stderr, flush=True)
    else:
        print(f"{time.strftime('%H:%M:%S')} {safe_text(text, keep_newlines=False)}", flush=True)


def _refreshed(args: argparse.Namespace, changes: NoteChanges, report: BuildReport) -> None:
    event = {
        "event": "refreshed",
        "added": list(changes.added),
        "changed": list(changes.modified),
        "deleted": list(changes.deleted),
        "chunks": report.chunks,
        "embedded": report.embedded,
        "reused": report.reused,
        "seconds": round(report.seconds, 3),
        "mode": report.reason,
    }
    _say(args, event, f"{changes.describe()}: index refreshed, {report.chunks} chunks "
                      f"({report.embedded} texts embedded, {report.reused} reused) in {report.seconds:.1f} s")


def run_watch(args: argparse.Namespace) -> int:
    from indexer.watch import watch_notes

    settings = settings_from_args(args)
    builder = _Builder(settings)
    stop = threading.Event()

    def ready() -> None:
        corpus = str(settings.corpus_dir)
        if args.json:
            _say(args, {"event": "watching", "corpus": corpus, "index": str(settings.index_dir)}, "")
        else:
            print(f"notes-qa: watching {safe_text(corpus, keep_newlines=False)} (Ctrl+C stops)", file=sys.stderr,
                  flush=True)

    try:
        for changes in watch_notes(settings, stop, quiet_ms=args.quiet_ms, ready=ready, interrupt=True):
            try:
                report = builder.build()
            except NotesQAError as exc:  # say it, and keep watching: the next save may fix it
                _say(args, {"event": "error", "message": str(exc), "fix": exc.fix, "paths": list(changes.paths)}, exc.with_fix(), error=True)
                continue
            for message in report.warnings:
                warn(message)
            _refreshed(args, changes, report)
    except KeyboardInterrupt:
        stop.set()
        print("notes-qa: stopped watching", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    return 0
