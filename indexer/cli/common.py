"""Settings from flags and environment, shared by the commands."""

from __future__ import annotations

import argparse
import sys

from ..settings import Settings


def settings_from_args(args: argparse.Namespace) -> Settings:
    return Settings.from_env().with_overrides(
        corpus_dir=getattr(args, "corpus", None),
        index_dir=getattr(args, "index", None),
        model_dir=getattr(args, "model", None),
    )


def warn(message: str) -> None:
    from ..safe_text import safe_text

    print(f"notes-qa: warning: {safe_text(message, keep_newlines=False)}", file=sys.stderr)
