"""The notes-qa terminal app (Textual). The engine lives in ``indexer``; ``tui`` imports it, never the reverse."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import TYPE_CHECKING

from .options import AppOptions

if TYPE_CHECKING:
    from indexer.settings import Settings

__all__ = ["AppOptions", "run_app"]


def run_app(settings: Settings, options: AppOptions | None = None) -> int:
    """Open the app over ``settings`` (started as ``options`` say) and return its exit code."""
    require_terminal()
    from indexer.model_files import offline_model_env

    # Keep model libraries offline and from printing progress bars over the screen.
    offline_model_env()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from .app import create_app
    from .engine import IndexEngine
    from .state import StateFile

    options = options or AppOptions()
    state = StateFile(options.state_dir) if options.state_dir is not None else None
    app = create_app(IndexEngine(settings), k=options.k, question=options.question, mode=options.mode, state=state,
                     watch=True)
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


def require_terminal() -> None:
    """Refuse to start without a terminal: Textual reads keys from stdin and draws on stderr.

    Without one (``notes-qa tui < /dev/null``, ``echo | notes-qa tui``, a cron job) the
    app would spin on end-of-file forever instead of failing.
    """
    from indexer.errors import UsageError

    for fd, name in ((0, "stdin"), (2, "stderr")):
        if not os.isatty(fd):
            raise UsageError(
                f"notes-qa tui needs a terminal ({name} is not one)", fix="to answer from a script use: notes-qa ask"
            )
