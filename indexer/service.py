"""Open a ready-to-use searcher: build or refresh the index if needed, then load it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .build import BuildReport, ProgressFn, build_index, index_status
from .embedder import Embedder, EmbedderChoice
from .embedder_factory import RecordedModel, query_embedder
from .errors import IndexLockedError, IndexWriteError, ModelError
from .index_files import load_index
from .lock import wait_for_build
from .model_files import ModelInfo
from .search import Searcher
from .settings import Settings


@dataclass(frozen=True)
class OpenedSearcher:
    searcher: Searcher
    built: BuildReport | None
    notes: tuple[str, ...] = ()


def _refresh(
    settings: Settings, state: str, reason: str, **build: Any
) -> tuple[BuildReport | None, tuple[str, ...]]:
    """Build or refresh a non-fresh index; returns the report (None if nothing was built) and warnings.

    A stale index (the notes changed) still answers: if another run is building
    or the index cannot be written (full disk, read-only folder), the old one is
    used with a warning instead of waiting or failing. A missing or damaged
    index has nothing to answer from: a running build is waited for, and only
    if the index is still not fresh afterwards is it built here.
    """
    if state == "stale":
        try:
            return build_index(settings, wait_seconds=0, **build), ()
        except IndexLockedError:
            return None, (f"another notes-qa run is rebuilding the index ({reason} since it was built); "
                          "answering from the current index",)
        except IndexWriteError as exc:
            return None, (f"the index could not be refreshed ({exc.reason}); answering from the previous index, "
                          f"built before the notes changed ({reason})",)
    progress = build.get("progress")
    if progress is not None:
        progress("waiting", 0, 1)  # for another run's build, if one holds the lock
    wait_for_build(settings.index_dir, wait_seconds=600)
    if index_status(settings).state == "fresh":
        return None, ()
    return build_index(settings, wait_seconds=600, **build), ()


def open_searcher(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    auto_build: bool = True,
    progress: ProgressFn | None = None,
    token_counter: Any = None,
    model: ModelInfo | None = None,
    spin: bool = True,
) -> OpenedSearcher:
    """Load the index under ``settings.index_dir``, building it first if it is
    missing, or refreshing it if the notes changed since it was built (see
    :func:`_refresh` for when the current index answers instead)."""
    built = None
    warnings: tuple[str, ...] = ()
    if auto_build:
        status = index_status(settings)
        if status.state != "fresh":
            built, warnings = _refresh(
                settings, status.state, status.reason,
                embedder=embedder, progress=progress, token_counter=token_counter, model=model,
            )
    index = load_index(settings.index_dir)
    notes: tuple[str, ...] = ()
    if embedder is None:
        embedder, notes = query_embedder(RecordedModel.from_json(index.manifest["model"]),
                                         EmbedderChoice.from_json(index.manifest.get("encoder")),
                                         settings.model_dir, settings.cache_dir, spin=spin)
    elif embedder.dim != index.manifest["model"]["dim"]:
        raise ModelError("the encoder's dimension does not match the index; rebuild with: notes-qa index --full")
    return OpenedSearcher(Searcher(index, embedder, warnings=warnings), built, warnings + notes)
