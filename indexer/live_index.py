"""An index kept loaded for a long-running process, refreshed when the notes change.

Before each use, the notes' file stats (and the live build the ``current`` link
names) are compared with those seen at the last check; only when they differ
is the full check run (``build.index_status``, which reads the manifest and
hashes the notes whose stat differs from the one it recorded), and the index
refreshed or reloaded if needed. On the bundled notes the stat pass costs about
0.1 ms and the full check 0.8 ms (2026-12-02), so the full check only runs
when something changed.

A file changed twice within one file-system timestamp tick keeps its stats;
so stats taken less than ``RACY_SECONDS`` after a file's modification time are
not trusted (the next use checks in full again), as git does with its index.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .build import build_index, index_status
from .corpus import walk_notes
from .errors import IndexLockedError
from .index_files import current_build

if TYPE_CHECKING:
    from .build import BuildReport
    from .embedder import Embedder
    from .model_files import ModelInfo
    from .search import Searcher
    from .service import OpenedSearcher
    from .settings import Settings

RACY_SECONDS = 2.0

#: (live build folder, the notes in walk order, their stats: ``corpus.WalkedNotes.stats`` as bytes)
Signature = tuple[str | None, list[str], bytes]

log = logging.getLogger("notes_qa.live_index")


@dataclass(frozen=True)
class Fresh:
    """The searcher to answer with, and what the caller should know about it."""

    searcher: Searcher
    warnings: tuple[str, ...] = ()


class LiveIndex:
    """Opens the index once, then keeps it fresh. Thread-safe: one caller refreshes at a time.

    ``embedder``, ``token_counter`` and ``model`` default to the real model; tests pass fakes
    (and ``racy_seconds=0`` to trust stats taken right after writing a note). ``spin``: whether the
    question encoder's threads spin-wait between calls (see ``OnnxEncoder``).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        token_counter: Any = None,
        model: ModelInfo | None = None,
        say: Callable[[str], None] = log.info,
        racy_seconds: float = RACY_SECONDS,
        spin: bool = True,
    ) -> None:
        self.settings = settings
        self._embedder = embedder
        self._token_counter = token_counter
        self._model = model
        self._say = say
        self._racy_ns = int(racy_seconds * 1e9)
        self._spin = spin
        self._lock = threading.Lock()
        self._opened: OpenedSearcher | None = None
        self._folder: Path | None = None
        self._signature: Signature | None = None
        #: Full checks run (``index_status``), for tests and logs.
        self.full_checks = 0

    @property
    def loaded_folder(self) -> Path | None:
        return self._folder

    def get(self) -> Fresh:
        """The searcher over the current notes: refreshed or reloaded first if they changed."""
        with self._lock:
            signature = self._stat_signature()
            if self._opened is not None and signature is not None and signature == self._signature:
                return Fresh(self._opened.searcher)
            return self._refresh(signature)

    def _stat_signature(self) -> Signature | None:
        """Stats of every note and the live build, or None if they cannot be trusted yet."""
        settings = self.settings
        walked = walk_notes(settings.corpus_dir, max_file_bytes=settings.chunker.max_file_bytes,
                            skip=(settings.index_dir,), follow_links=settings.follow_links)
        racy_after = time.time_ns() - self._racy_ns
        stats = walked.stats  # 4 int64 a note: size, mtime_ns, ctime_ns, inode
        if max(stats[1::4], default=0) > racy_after or max(stats[2::4], default=0) > racy_after:
            return None
        live = current_build(settings.index_dir)
        return (None if live is None else str(live), walked.rels, stats.tobytes())

    def _refresh(self, signature: Signature | None) -> Fresh:
        self.full_checks += 1
        status = index_status(self.settings)
        if status.state == "fresh":
            if self._opened is None or current_build(self.settings.index_dir) != self._folder:
                self._load()
        else:
            try:
                self._build(full=status.state != "stale", why=status.reason)
            except IndexLockedError:
                if self._opened is None:
                    raise
                # Another `notes-qa index` is at work: answer now from what is loaded, check again next time.
                self._signature = None
                return Fresh(self._opened.searcher, ("another notes-qa index run is refreshing the index; "
                                                     "this answer comes from the index loaded before it",))
            self._load()
        assert self._opened is not None
        if signature is not None:  # the notes' stats were taken before the check, so they are safe to keep
            signature = (None if self._folder is None else str(self._folder), *signature[1:])
        self._signature = signature
        return Fresh(self._opened.searcher)

    def _build(self, *, full: bool, why: str) -> None:
        self._say(f"refreshing the index ({why})")
        report = build_index(
            self.settings,
            full=full,
            embedder=self._embedder,
            token_counter=self._token_counter,
            model=self._model,
            wait_seconds=self._wait_seconds(),
        )
        self._built(report)

    def _wait_seconds(self) -> float:
        """How long a build waits for another run's: not at all when an index is loaded to answer from."""
        return 0.0 if self._opened is not None else 600.0

    def _built(self, report: BuildReport) -> None:
        for message in report.warnings:
            self._say(message)
        self._say(f"index ready: {report.chunks} chunks, {report.embedded} texts embedded, "
                  f"{report.reused} reused, in {report.seconds:.1f} s")

    def _load(self) -> None:
        from .service import open_or_repair

        def repairing(why: str) -> None:  # damaged files are only found on loading: rebuilt once
            self._say(f"the index cannot be used ({why}); rebuilding it from {self.settings.corpus_dir}")
            self._say("refreshing the index (damaged)")

        opened = open_or_repair(self.settings, embedder=self._embedder, auto_build=False, spin=self._spin,
                                token_counter=self._token_counter, model=self._model,
                                wait_seconds=self._wait_seconds(), on_repair=repairing)
        if opened.built is not None:
            self._built(opened.built)
        for note in opened.notes:
            self._say(note)
        self._opened = opened
        self._folder = opened.searcher.index.folder
        self._say(f"loaded {self._folder} ({opened.searcher.size} chunks)")
