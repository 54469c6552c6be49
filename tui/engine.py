"""What the app needs from the engine, and the real implementation.

The app only knows the ``Engine`` protocol: the CLI hands it an ``IndexEngine``
over the user's settings, the tests one with a fake embedder. ``indexer`` is
imported inside the methods, which run in a worker thread, so the window
paints before any of it loads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from indexer.embedder import Embedder
    from indexer.model_files import ModelInfo
    from indexer.note_changes import NoteChanges
    from indexer.search import Searcher
    from indexer.service import OpenedSearcher
    from indexer.settings import Settings
    from indexer.watch import StopFlag

#: progress(stage, done, total), called from the worker thread.
Progress = Callable[[str, int, int], None]
#: The stage reported first on a first run: the model must be exported (once) before the build.
PREPARING_MODEL = "preparing-model"


class Engine(Protocol):
    """Opens (building if missing or stale) and rebuilds the index. Runs off the UI thread."""

    @property
    def settings(self) -> Settings: ...

    def open(self, progress: Progress) -> OpenedSearcher: ...

    def rebuild(self, progress: Progress) -> OpenedSearcher: ...

    def watch(self, stop: StopFlag) -> Iterator[NoteChanges]:
        """Each batch of changed notes (``indexer.watch.watch_notes``), until ``stop`` is set."""
        ...

    def refresh(self, current: Searcher | None) -> OpenedSearcher:
        """Refresh the index incrementally after a change, then load it (reusing ``current``'s encoder)."""
        ...


class IndexEngine:
    """The engine over ``settings``: ``indexer.service.open_searcher`` and ``indexer.build.build_index``.

    ``embedder``, ``token_counter`` and ``model`` default to the real model;
    tests pass deterministic fakes.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        token_counter: Any = None,
        model: ModelInfo | None = None,
    ) -> None:
        self._settings = settings
        self.embedder = embedder
        self.token_counter = token_counter
        self.model = model

    @property
    def settings(self) -> Settings:
        return self._settings

    def open(self, progress: Progress) -> OpenedSearcher:
        """Load the index, building it first if missing or stale; rebuild it if its files are damaged."""
        from dataclasses import replace

        from indexer.service import open_or_repair

        if self.embedder is None and needs_model_export(self._settings):
            progress(PREPARING_MODEL, 0, 0)
        opened = open_or_repair(
            self._settings,
            embedder=self.embedder,
            progress=progress,
            token_counter=self.token_counter,
            model=self.model,
        )
        if opened.repaired is None:
            return opened
        note = f"the index could not be used ({opened.repaired}), so it was rebuilt from the notes"
        return replace(opened, notes=(note, *opened.notes))

    def rebuild(self, progress: Progress, *, full: bool = False) -> OpenedSearcher:
        """Refresh the index (re-embedding only changed text unless ``full``), then load it."""
        from indexer.build import build_index
        from indexer.service import OpenedSearcher, open_searcher

        report = build_index(
            self._settings,
            full=full,
            embedder=self.embedder,
            token_counter=self.token_counter,
            model=self.model,
            progress=progress,
            wait_seconds=600,
        )
        opened = open_searcher(self._settings, embedder=self.embedder, auto_build=False)
        return OpenedSearcher(opened.searcher, report, opened.notes)

    def watch(self, stop: StopFlag) -> Iterator[NoteChanges]:
        from indexer.watch import watch_notes

        return watch_notes(self._settings, stop)

    def refresh(self, current: Searcher | None) -> OpenedSearcher:
        """An incremental build and a reload that keep the loaded encoder: no model load per refresh."""
        from indexer.build import build_index
        from indexer.service import OpenedSearcher, open_searcher

        embedder = self.embedder or (current.embedder if current is not None else None)
        report = build_index(self._settings, embedder=embedder, token_counter=self.token_counter, model=self.model,
                             wait_seconds=600)
        opened = open_searcher(self._settings, embedder=embedder, auto_build=False)
        return OpenedSearcher(opened.searcher, report, opened.notes)

def needs_model_export(settings: Settings) -> bool:
    """A first run: no index yet, and no exported encoder in the cache (the build makes one, ~30 s)."""
    from indexer.encoder_cache import cached_onnx
    from indexer.errors import NotesQAError
    from indexer.index_files import current_build
    from indexer.model_files import resolve_model

    if current_build(settings.index_dir) is not None:
        return False
    try:
        model = resolve_model(settings.model_dir)
    except NotesQAError:  # opening reports it
        return False
    return cached_onnx(model, settings.cache_dir, check_hash=False, precision=settings.precision or "fp32") is None
