"""Watching the notes: batches of changes after a quiet period, caught up on start, stoppable."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest

from indexer.model_files import ModelInfo
from indexer.note_changes import NoteChanges
from indexer.settings import Settings
from indexer.watch import concerns_notes, is_note_path, pending_changes, watch_notes

from .test_build_and_search import build, searcher

TIMEOUT = 60  # generous: the machine may be busy; every wait ends as soon as its event comes


class Watcher:
    """``watch_notes`` in a thread; batches arrive on a queue, the caller rebuilds after each."""

    def __init__(self, settings: Settings, quiet_ms: int = 50) -> None:
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.batches: queue.Queue[NoteChanges | BaseException] = queue.Queue()
        self.built = threading.Event()
        self.built.set()
        self.thread = threading.Thread(target=self._run, args=(settings, quiet_ms), daemon=True)

    def _run(self, settings: Settings, quiet_ms: int) -> None:
        try:
            for changes in watch_notes(settings, self.stop, quiet_ms=quiet_ms, ready=self.ready.set):
                self.built.clear()
                self.batches.put(changes)
                self.built.wait(TIMEOUT)  # the test rebuilds, then lets the watcher go on
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            self.batches.put(exc)

    def next(self) -> NoteChanges:
        item = self.batches.get(timeout=TIMEOUT)
        if isinstance(item, BaseException):
            raise item
        return item

    def __enter__(self) -> Watcher:
        self.thread.start()
        assert self.ready.wait(TIMEOUT), "the watcher did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.built.set()
        self.thread.join(TIMEOUT)
        assert not self.thread.is_alive(), "the watcher did not stop"


@pytest.fixture
def built(notes_settings: Settings, fake_model: ModelInfo) -> Iterator[Settings]:
    build(notes_settings, fake_model)
    yield notes_settings


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def test_an_edit_a_deletion_and_a_new_note_each_come_as_a_batch(built: Settings, fake_model: ModelInfo) -> None:
    corpus = built.corpus_dir
    with Watcher(built) as w:
        append(corpus / "cache.md", "- Valkey is the open source fork of Redis\n")
        assert w.next() == NoteChanges(modified=("cache.md",))
        build(built, fake_model)
        assert searcher(built).search("valkey open source fork", k=1).hits[0].chunk.path == "cache.md"
        w.built.set()
        (corpus / "storage.md").unlink()
        assert w.next() == NoteChanges(deleted=("storage.md",))
        build(built, fake_model)
        assert all(h.chunk.path != "storage.md" for h in searcher(built).search("S3 durable object", k=10).hits)
        w.built.set()
        (corpus / "scratch.tmp").write_text("not a note")  # wakes nothing on its own
        (corpus / "deep").mkdir()
        (corpus / "deep" / "new.md").write_text("# New\n\n- zebra\n")
        assert w.next() == NoteChanges(added=("deep/new.md",))


def test_changes_made_before_watching_come_first(built: Settings) -> None:
    append(built.corpus_dir / "cache.md", "- changed while nobody watched\n")
    with Watcher(built) as w:
        assert w.next() == NoteChanges(modified=("cache.md",))


def test_no_index_means_every_note_is_new(notes_settings: Settings) -> None:
    assert pending_changes(notes_settings) == NoteChanges(added=("cache.md", "database.md", "storage.md"))


def test_a_saved_but_unchanged_note_is_no_change(built: Settings) -> None:
    assert not pending_changes(built)
    (built.corpus_dir / "cache.md").touch()
    assert not pending_changes(built)


def test_stop_ends_the_watch_promptly(built: Settings) -> None:
    with Watcher(built) as w:
        pass
    assert w.batches.empty()


@pytest.mark.parametrize(
    ("rel", "is_dir", "gone", "expected"),
    [
        ("a.md", False, False, True),
        ("sub/b.markdown", False, True, True),
        ("c.TXT", False, False, True),
        ("sub", True, False, True),
        ("old-folder", False, True, True),  # a removed folder
        (".git/index", False, False, False),
        ("sub/.a.md.swp", False, False, False),
        ("a.md~", False, False, False),
        ("4913", False, True, True),  # vim's probe file looks like a removed folder: a harmless extra check
        ("x.tmp", False, True, False),
    ],
)
def test_which_paths_concern_notes(rel: str, is_dir: bool, gone: bool, expected: bool) -> None:
    assert is_note_path(PurePosixPath(rel), is_dir, gone) is expected


def test_changes_in_the_index_folder_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "index").mkdir()
    assert not concerns_notes(tmp_path, {(1, str(tmp_path / "index" / "x.md"))}, skip=(tmp_path / "index",))
    assert not concerns_notes(tmp_path, {(1, "/elsewhere/x.md")})
    assert concerns_notes(tmp_path, {(1, str(tmp_path / "y.md"))})


def test_watching_a_missing_corpus_is_a_corpus_error(tmp_path: Path) -> None:
    from indexer.errors import CorpusError

    settings = Settings(corpus_dir=tmp_path / "none", index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    with pytest.raises(CorpusError, match="does not exist"):
        next(watch_notes(settings, threading.Event()))
