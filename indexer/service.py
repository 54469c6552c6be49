"""Open a ready-to-use searcher: build or refresh the index if needed, then load it.

:func:`open_or_repair` is the one place that decides what a damaged index gets:
the CLI (``ask``, ``eval``), the TUI and the MCP server's live index all open
through it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from .build import BuildReport, ProgressFn, build_index, index_status
from .embedder import Embedder, EmbedderChoice
from .embedder_factory import query_embedder
from .errors import REBUILD, IndexFileError, IndexLockedError, IndexWriteError, ModelError, NotesQAError
from .index_files import LoadedIndex, current_build, load_index
from .lock import wait_for_build
from .manifest import ModelRecord, read_manifest
from .model_files import ModelInfo
from .search import Searcher
from .settings import Settings

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

    from .walk_aside import WalkAside

#: The question encoder's threads may spin-wait between questions only for an index of up to this many chunks.
SPIN_MAX_CHUNKS: Final = 2_000

#: Index errors a rebuild cannot cure: another run holds the lock, or the folder cannot be written.
NOT_REPAIRED: tuple[type[IndexFileError], ...] = (IndexLockedError, IndexWriteError)


@dataclass(frozen=True)
class OpenedSearcher:
    """A loaded searcher and what the caller should tell the user about opening it."""

    searcher: Searcher
    built: BuildReport | None  # the build made while opening, if any
    notes: tuple[str, ...] = ()  # warnings to show (a stale index answering, a slower encoder)
    #: why the index could not be used, when it was rebuilt from the notes for that (``built`` is that build)
    repaired: str | None = None


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
    :func:`_refresh` for when the current index answers instead). ``spin``: whether the
    question encoder's threads may spin-wait between questions (only for indexes of up to
    :data:`SPIN_MAX_CHUNKS` chunks; see ``OnnxEncoder``).

    The question encoder the live build names starts loading at once, in a thread of its own, while
    the notes are checked and the index is loaded; it is used if the index loaded names the same one.
    """
    from concurrent.futures import ThreadPoolExecutor

    # a big corpus's walk runs in a child process beside what follows (before any thread: it forks)
    walk = _start_walk(settings) if auto_build else None
    try:
        # leaving early (an error, Ctrl+C) waits for the encoder's load to end
        with ThreadPoolExecutor(1, "load-query-encoder") as aside:
            early = _load_encoder_early(aside, settings, spin) if embedder is None else None
            built = None
            warnings: tuple[str, ...] = ()
            index = None
            if auto_build:
                # while the child walks, the live build is loaded; used if the check finds it fresh
                index = _load_while_walking(settings) if walk is not None else None
                status = index_status(settings, walk=walk)
                if status.state != "fresh":
                    index = None
                    built, warnings = _refresh(
                        settings, status.state, status.reason,
                        embedder=embedder, progress=progress, token_counter=token_counter, model=model,
                    )
            if index is None or index.folder != current_build(settings.index_dir):
                index = load_index(settings.index_dir)
            notes: tuple[str, ...] = ()
            if embedder is None:
                # Spin-waiting encoder threads answer the next question a little sooner on a small index (bundled
                # notes: 4.4 vs 4.9 ms), but when the search after each embedding takes longer, a thread spinning
                # through it takes the core it needs (2 cores, 2026-12-03: SciFact as notes, 13,627 chunks, 28 vs
                # 16 ms a question; the 100,000-note vault 32 vs 16 ms).
                wanted = _EncoderWanted(index.manifest.model, index.manifest.encoder,
                                        spin and len(index.chunks) <= SPIN_MAX_CHUNKS)
                if early is not None and early[0] == wanted:
                    embedder, notes = early[1].result()
                else:  # no build to read beforehand, or the one loaded names another encoder (it was rebuilt)
                    embedder, notes = wanted.load(settings)
            elif embedder.dim != index.manifest.model.dim:
                raise ModelError("the encoder's dimension does not match the index", fix=REBUILD)
    finally:
        if walk is not None:
            walk.cancel()
    return OpenedSearcher(Searcher(index, embedder, warnings=warnings), built, warnings + notes)


def _start_walk(settings: Settings) -> WalkAside | None:
    """The corpus folder's walk in a child process (``walk_aside``), for a live build of many notes."""
    from .note_table import NOTE_STATS
    from .walk_aside import start_walk

    folder = current_build(settings.index_dir)
    try:  # the note table's rows, from its size (5 int64 a note): no need to read the manifest first
        notes = 0 if folder is None else os.stat(folder / NOTE_STATS).st_size // (5 * 8)
    except OSError:
        return None
    return start_walk(settings.corpus_dir, notes, max_file_bytes=settings.chunker.max_file_bytes,
                      skip=(settings.index_dir,), follow_links=settings.follow_links)


def _load_while_walking(settings: Settings) -> LoadedIndex | None:
    """The live build, loaded while the notes are checked; None if it cannot be (the check says why), or if
    its vectors are in Milvus (a connection is not opened for a build that a refresh may replace)."""
    try:
        folder = current_build(settings.index_dir)
        if folder is None or read_manifest(folder).vector_db is not None:
            return None
        return load_index(settings.index_dir)
    except NotesQAError:
        return None


@dataclass(frozen=True)
class _EncoderWanted:
    """The question encoder an index names, and whether its threads may spin-wait."""

    model: ModelRecord
    encoder: EmbedderChoice
    spin: bool

    def load(self, settings: Settings) -> tuple[Embedder, tuple[str, ...]]:
        return query_embedder(self.model, self.encoder, settings.model_dir, settings.cache_dir, spin=self.spin)


def _load_encoder_early(
    aside: Executor, settings: Settings, spin: bool
) -> tuple[_EncoderWanted, Future[tuple[Embedder, tuple[str, ...]]]] | None:
    """Start loading the question encoder the live build's manifest names (None when there is none to read).

    Its file is hashed and onnxruntime's session built (0.3-0.5 s, mostly outside the GIL) while the
    caller checks the notes (a stat of each) and loads the index.
    """
    folder = current_build(settings.index_dir)
    if folder is None:
        return None
    try:
        manifest = read_manifest(folder)  # kept: the freshness check and the load read it again for free
    except NotesQAError:
        return None
    wanted = _EncoderWanted(manifest.model, manifest.encoder, spin and manifest.counts.chunks <= SPIN_MAX_CHUNKS)
    return wanted, aside.submit(wanted.load, settings)


def open_or_repair(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    auto_build: bool = True,
    repair: bool = True,
    progress: ProgressFn | None = None,
    token_counter: Any = None,
    model: ModelInfo | None = None,
    spin: bool = True,
    wait_seconds: float = 600,
    on_repair: Callable[[str], None] | None = None,
) -> OpenedSearcher:
    """:func:`open_searcher`, and if the index turns out damaged or foreign, rebuild it from the notes.

    A damaged build is only found when its files are checked on loading, so it is
    rebuilt (in full) after the first attempt to load it fails; ``on_repair`` hears
    why before the rebuild starts, and ``OpenedSearcher.repaired`` says it after.
    What a rebuild cannot cure (``NOT_REPAIRED``: a lock held by another run, a
    folder that cannot be written) and model errors are raised, as is everything
    without ``repair``. ``wait_seconds``: how long the rebuild waits for another
    run's build.
    """
    try:
        return open_searcher(settings, embedder=embedder, auto_build=auto_build, progress=progress,
                             token_counter=token_counter, model=model, spin=spin)
    except NOT_REPAIRED:
        raise
    except IndexFileError as exc:
        if not repair:
            raise
        why = exc.message
    if on_repair is not None:
        on_repair(why)
    report = build_index(settings, full=True, embedder=embedder, token_counter=token_counter, model=model,
                         progress=progress, wait_seconds=wait_seconds)
    opened = open_searcher(settings, embedder=embedder, auto_build=False, spin=spin)
    return OpenedSearcher(opened.searcher, report, opened.notes, repaired=why)
