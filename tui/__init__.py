"""The notes-qa terminal app (Textual). The engine lives in ``indexer``; ``tui`` imports it, never the reverse."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from indexer.settings import Settings


def run_app(settings: Settings) -> int:
    """Open the app over ``settings`` and return its exit code."""
    from indexer.model_files import offline_model_env

    # Keep model libraries offline and from printing progress bars over the screen.
    offline_model_env()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from .app import create_app
    from .engine import IndexEngine

    app = create_app(IndexEngine(settings), watch=True)
    # Our own loop rather than asyncio.run(), which would wait for a running build
    # thread (it cannot be interrupted) before the process could end.
    loop = asyncio.new_event_loop()
    app.run(loop=loop)
    code = app.return_code or 0
    if app.building:
        # A build only ever swaps in a complete index, so stopping it halfway is safe.
        print("notes-qa: quit during an index build; the build was stopped and the previous index is kept",
              file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()
    return code
