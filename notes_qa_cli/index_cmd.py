"""``notes-qa index``: build or refresh the index."""

from __future__ import annotations

import argparse
import json
import os

from indexer.build import build_index
from indexer.up_to_date import UP_TO_DATE, unchanged_index

from .common import settings_from_args, warn
from .progress import ProgressBar


def run_index(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    bar = ProgressBar()
    try:
        store = args.store or os.environ.get("NOTES_QA_STORE") or None
        same = None if args.full or store else unchanged_index(settings)  # nothing to do: say so, write nothing
        report = same or build_index(settings, full=args.full, progress=bar, store=store)
    finally:
        bar.close()
    for message in report.warnings:
        warn(message)
    if args.json:
        print(
            json.dumps(
                {
                    "index": str(report.index_dir),
                    "files": report.files,
                    "chunks": report.chunks,
                    "lines": report.lines,
                    "embedded": report.embedded,
                    "reused": report.reused,
                    "seconds": round(report.seconds, 3),
                    "mode": report.reason,
                    "encoder": report.backend,  # the keys of earlier versions, kept for scripts that read them
                    "variant": report.precision,
                    "backend": report.backend,
                    "precision": report.precision,
                    "warnings": list(report.warnings),
                }
            )
        )
    elif report.reason == UP_TO_DATE:
        print(f"index is up to date: {report.files} files, {report.chunks} chunks, no note changed "
              f"(checked in {report.seconds:.2f} s; --full rebuilds anyway)")
    else:
        print(
            f"indexed {report.files} files, {report.chunks} chunks ({report.embedded} texts embedded, "
            f"{report.reused} reused; {report.reason}) in {report.seconds:.1f} s"
            + (f" [{report.precision} encoder]" if report.precision != "fp32" else "")
        )
    return 0
