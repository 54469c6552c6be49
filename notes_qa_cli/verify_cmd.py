"""``notes-qa verify``: hash every index file and every note against the manifest."""

from __future__ import annotations

import argparse
import json

from indexer.errors import NotesQAError
from indexer.verify import verify_index

from .common import settings_from_args


def run_verify(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    try:
        report = verify_index(settings)
    except NotesQAError as exc:
        if args.json:  # the JSON on stdout, the error and its fix on stderr as for every command
            print(json.dumps({"ok": False, "error": exc.message, "fix": exc.fix}))
        raise
    if args.json:
        print(json.dumps({"ok": True, "index": str(report.folder), "files": report.files, "notes": report.notes}))
    else:
        print(f"index OK: {report.files} files, {report.notes} notes checked")
    return 0
