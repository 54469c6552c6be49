"""The app watches its notes: a thread worker refreshes the index after each change.

The worker posts ``NotesChanged`` as soon as a batch of changes is seen (the app
marks hits from those notes stale), then ``IndexRefreshed`` once the
incremental build is loaded (the app swaps the searcher in and asks the
question again). It stops when asked, or when the app stops running.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.content import Content

from indexer.errors import NotesQAError

from .messages import EngineFailed, IndexRefreshed, NotesChanged

if TYPE_CHECKING:
    from indexer.note_changes import NoteChanges
    from indexer.search import Searcher

    from .engine import Engine
    from .visuals import Hanging

STALE_STYLE = "bold $text-warning"
WATCH_GROUP = "watch"


class WatchStop:
    """Set to stop watching; also set once the app stops running (so quitting never waits on the watcher)."""

    def __init__(self, app: App[Any]) -> None:
        self._app = app
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set() or not self._app.is_running


def start_watching(app: App[Any], engine: Engine, searcher: Callable[[], Searcher | None],
                   tell: Callable[..., None]) -> WatchStop:
    """Run the watcher in a thread worker of ``app``; returns what stops it.

    ``searcher`` gives the app's current searcher (the one a refresh builds on);
    ``tell`` shows a notification (``NotesQAApp.tell``).
    """
    stop = WatchStop(app)
    app.run_worker(lambda: _watch(app, engine, searcher, tell, stop), thread=True, group=WATCH_GROUP,
                   name="watch notes", exit_on_error=False)
    return stop


def _watch(app: App[Any], engine: Engine, searcher: Callable[[], Searcher | None], tell: Callable[..., None],
           stop: WatchStop) -> None:
    try:
        for changes in engine.watch(stop):
            app.post_message(NotesChanged(changes))
            try:
                opened = engine.refresh(searcher())
            except NotesQAError as exc:  # say so and keep watching: the next save may fix it
                app.post_message(EngineFailed(exc.with_fix(), True))
                continue
            except Exception as exc:
                app.post_message(EngineFailed(f"unexpected error: {type(exc).__name__}: {exc}; please report it", True))
                continue
            app.post_message(IndexRefreshed(opened, changes))
    except Exception as exc:  # cannot watch (no such folder, too many watches): the r key still refreshes
        if not stop.is_set():
            with suppress(RuntimeError):  # the app has just closed
                app.call_from_thread(tell, f"cannot watch the notes for changes ({exc}); press r after editing them",
                                     title="Not watching", severity="warning", timeout=10)


def stale_prompt(prompt: Hanging, path: str, changes: NoteChanges) -> Hanging:
    """A result row marked as coming from a note that changed (or went away) since the index was built."""
    from .visuals import Hanging

    what = "note deleted" if path in changes.deleted else "note changed"
    mark = Content(f"  ⟳ {what}, refreshing…").stylize(STALE_STYLE)
    return Hanging(prompt.head + mark, prompt.body, prompt.indent)
