"""Keep an index fresh while the notes change: watch the corpus, report changes after a quiet period.

``watch_notes`` yields the notes that changed, once the corpus has been quiet
for ``quiet_ms`` (edits saved in a burst come as one batch); the caller then
runs the incremental build (``indexer.build.build_index``: unchanged text keeps
its vectors, the build lock keeps two writers apart). ``notes-qa watch`` and
the terminal app both use it. ``watchfiles`` loads only when watching starts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Protocol

from .corpus import NOTE_SUFFIXES, check_corpus_folder
from .errors import CorpusError
from .note_changes import NoteChanges

if TYPE_CHECKING:
    from .settings import Settings

#: Milliseconds without a new change before a batch of changes is handed over.
#: An editor's save (write, rename, chmod) lands within a few ms; 300 ms also
#: groups a script's burst of writes, and keeps save-to-answer well under a second.
QUIET_MS = 300
#: A batch is handed over after this long even if changes keep coming.
MAX_BATCH_MS = 3000
#: How often the watcher wakes with no change (to notice ``stop``; the first wake also means "watching").
WAKE_MS = 500


class StopFlag(Protocol):
    """Set to stop watching (a ``threading.Event``, or anything with ``is_set``)."""

    def is_set(self) -> bool: ...


def is_note_path(rel: PurePosixPath, is_dir: bool, gone: bool) -> bool:
    """Could this corpus-relative path be a note, or a folder holding notes, as the corpus reader sees them?"""
    if any(part.startswith(".") for part in rel.parts):
        return False
    if is_dir:
        return True
    if rel.name.lower().endswith(NOTE_SUFFIXES):
        return True
    return gone and "." not in rel.name  # a removed folder (its notes may not be reported one by one)


def concerns_notes(root: Path, raw: Iterable[tuple[object, str]], skip: tuple[Path, ...] = ()) -> bool:
    """Does any of ``raw`` (watchfiles ``(Change, path)`` pairs) touch a note or a folder of notes under ``root``?"""
    root = root.resolve()
    skipped = tuple(p.resolve() for p in skip)
    for _, name in raw:
        path = Path(name)
        if any(path == s or s in path.parents for s in skipped):
            continue
        try:
            rel = PurePosixPath(path.relative_to(root).as_posix())
        except ValueError:
            continue
        if str(rel) != "." and is_note_path(rel, path.is_dir(), not path.exists()):
            return True
    return False


def pending_changes(settings: Settings) -> NoteChanges:
    """How the notes now differ from the live index (every note counts as new when there is none).

    Only notes whose stat differs from the manifest's are read (``corpus.corpus_hashes``).
    """
    from .corpus import corpus_hashes
    from .errors import IndexFileError
    from .index_files import current_build
    from .manifest import read_manifest

    folder = current_build(settings.index_dir)
    manifest = None
    if folder is not None:
        try:
            manifest = read_manifest(folder)
        except IndexFileError:
            manifest = None
    try:
        now = corpus_hashes(settings.corpus_dir, {} if manifest is None else manifest.notes,
                            max_file_bytes=settings.chunker.max_file_bytes, skip=(settings.index_dir,))
    except CorpusError:  # no notes left (or no folder): every indexed note is gone
        hashes: dict[str, str] = {}
    else:
        if manifest is not None and now.unchanged:
            return NoteChanges()
        hashes = now.hashes
    if folder is None:
        return NoteChanges(added=tuple(sorted(hashes)))
    if manifest is None:
        return NoteChanges(modified=tuple(sorted(hashes)))
    return manifest.notes_diff(hashes)


def watch_notes(
    settings: Settings,
    stop: StopFlag,
    *,
    quiet_ms: int = QUIET_MS,
    ready: Callable[[], None] | None = None,
    interrupt: bool = False,
) -> Iterator[NoteChanges]:
    """Yield how the notes differ from the index, each time they changed, until ``stop`` is set.

    File events only wake the watcher; what changed is always the difference
    between the notes and the index (``pending_changes``), so a note saved
    unchanged is no change, and notes changed before watching began (or while
    the caller was rebuilding) are never missed. The first batch comes as soon
    as watching starts, if the index is stale then. ``ready`` is called once the
    watcher runs. With ``interrupt`` (main thread only), Ctrl+C raises
    ``KeyboardInterrupt`` even while waiting. The caller rebuilds after each batch.
    """
    from watchfiles import watch

    root = Path(settings.corpus_dir)
    check_corpus_folder(root)
    started = False
    for raw in watch(
        root,
        watch_filter=None,
        debounce=max(MAX_BATCH_MS, quiet_ms),
        step=quiet_ms,
        stop_event=stop,
        rust_timeout=WAKE_MS,
        yield_on_timeout=True,
        raise_interrupt=interrupt,
    ):
        if stop.is_set():
            return
        if started and not concerns_notes(root, raw, skip=(settings.index_dir,)):
            continue  # a timeout, or files that are not notes
        if not started:
            started = True
            if ready is not None:
                ready()
        changes = pending_changes(settings)
        if changes:
            yield changes
