"""Freshness by stat: ``index_status`` reads only notes whose stat differs from the manifest's (as git does)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from indexer.build import build_index, index_status
from indexer.corpus import corpus_hashes, read_corpus
from indexer.index_files import current_build, read_manifest
from indexer.manifest import RACY_NS, NoteRecord, NoteStat
from indexer.model_files import ModelInfo
from indexer.note_table import NOTE_FILES, NoteArrays, NoteTable
from indexer.settings import Settings
from indexer.watch import pending_changes

from .fakes import FakeEmbedder, WordCounter

HOUR_NS = 3600 * 10**9


def age(folder: Path, seconds: int = 3600) -> None:
    """Date every note ``seconds`` back, so a build trusts their stats (not racily clean)."""
    for path in folder.rglob("*.md"):
        age_note(path, seconds)


def age_note(path: Path, seconds: int = 3600) -> None:
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns - seconds * 10**9))


def build(settings: Settings, model: ModelInfo) -> None:
    build_index(settings, embedder=FakeEmbedder(), token_counter=WordCounter(), model=model)


@pytest.fixture
def built(notes_settings: Settings, fake_model: ModelInfo) -> Settings:
    age(notes_settings.corpus_dir)
    build(notes_settings, fake_model)
    return notes_settings


def test_the_manifest_records_each_notes_stat(built: Settings) -> None:
    folder = current_build(built.index_dir)
    assert folder is not None
    manifest = read_manifest(folder)
    for rel, record in manifest.notes.items():
        assert record.stat == NoteStat.of(os.stat(built.corpus_dir / rel)), rel
    stats = np.load(folder / "notes.stat.npy")
    assert stats.shape == (3, 5) and (stats[:, 4] == 1).all()  # size, mtime_ns, ctime_ns, inode; recorded


def test_an_unchanged_corpus_is_fresh_without_reading_a_note(built: Settings) -> None:
    status = index_status(built)
    assert (status.state, status.hashed) == ("fresh", 0)


def test_only_the_edited_note_is_hashed(built: Settings) -> None:
    path = built.corpus_dir / "cache.md"
    path.write_text(path.read_text() + "- Valkey forks Redis\n")
    status = index_status(built)
    assert (status.state, status.reason, status.hashed) == ("stale", "notes 1 changed", 1)


def test_a_touched_note_with_the_same_bytes_is_fresh(built: Settings) -> None:
    path = built.corpus_dir / "cache.md"
    path.write_bytes(path.read_bytes())  # new mtime and ctime, same content
    status = index_status(built)
    assert (status.state, status.hashed) == ("fresh", 1)


def test_a_same_size_edit_with_the_old_mtime_is_still_seen(built: Settings) -> None:
    """Size and mtime put back as they were: the ctime (or inode) still differs, so the note is hashed."""
    path = built.corpus_dir / "cache.md"
    before = path.stat()
    data = bytearray(path.read_bytes())
    data[0:1] = b"X" if data[0:1] != b"X" else b"Y"
    path.write_bytes(bytes(data))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    if path.stat().st_ctime_ns == before.st_ctime_ns:  # a file system whose ctime tick outlasted the build
        pytest.skip("ctime did not move: this file system cannot tell the edit by stat (NoteRecord tests cover it)")
    status = index_status(built)
    assert (status.state, status.reason) == ("stale", "notes 1 changed")


def test_a_note_replaced_by_rename_is_hashed(built: Settings) -> None:
    path = built.corpus_dir / "cache.md"
    other = built.corpus_dir / "cache.md.tmp"
    other.write_bytes(path.read_bytes())
    os.replace(other, path)  # an editor's atomic save: new inode, same bytes
    status = index_status(built)
    assert (status.state, status.hashed) == ("fresh", 1)


def test_new_and_removed_notes_are_seen(built: Settings) -> None:
    (built.corpus_dir / "storage.md").unlink()
    (built.corpus_dir / "new.md").write_text("# New\n\nA new note about queues.\n")
    status = index_status(built)
    assert (status.state, status.reason, status.hashed) == ("stale", "notes 1 new, 1 removed", 1)
    changes = pending_changes(built)
    assert (changes.added, changes.modified, changes.deleted) == (("new.md",), (), ("storage.md",))


def test_notes_modified_just_before_the_build_get_no_stat(notes_settings: Settings, fake_model: ModelInfo) -> None:
    """Racily clean (git's term): a note as new as the build could change again within its timestamp tick
    and keep its stat, so the build records none and every check hashes it until the next build."""
    age(notes_settings.corpus_dir)
    (notes_settings.corpus_dir / "cache.md").write_text("# Cache\n\nRedis keeps keys in memory.\n")
    build(notes_settings, fake_model)
    folder = current_build(notes_settings.index_dir)
    assert folder is not None
    notes = read_manifest(folder).notes
    assert notes["cache.md"].stat is None
    assert notes["database.md"].stat is not None
    assert index_status(notes_settings).hashed == 1


def test_racy_window_is_measured_from_the_start_of_reading() -> None:
    stat = NoteStat(size=10, mtime_ns=HOUR_NS, ctime_ns=HOUR_NS, inode=7)
    assert NoteRecord.indexed("a" * 64, stat, read_from_ns=HOUR_NS + RACY_NS + 1).stat == stat
    assert NoteRecord.indexed("a" * 64, stat, read_from_ns=HOUR_NS + RACY_NS).stat is None
    assert NoteRecord.indexed("a" * 64, stat, read_from_ns=HOUR_NS - 5).stat is None  # clock behind the file
    record = NoteRecord.indexed("a" * 64, stat, read_from_ns=2 * HOUR_NS)
    assert record.unchanged(stat)
    for other in (NoteStat(11, HOUR_NS, HOUR_NS, 7), NoteStat(10, HOUR_NS + 1, HOUR_NS, 7),
                  NoteStat(10, HOUR_NS, HOUR_NS + 1, 7), NoteStat(10, HOUR_NS, HOUR_NS, 8)):
        assert not record.unchanged(other)


def test_a_manifest_without_stats_opens_fresh_and_hashes_every_note(built: Settings) -> None:
    """Indexes built before stats were recorded need no rebuild: every note is hashed, as before."""
    folder = current_build(built.index_dir)
    assert folder is not None
    as_older_build(folder, stats=False)
    assert all(r.stat is None for r in read_manifest(folder).notes.values())
    status = index_status(built)
    assert (status.state, status.hashed) == ("fresh", 3)


def as_older_build(folder: Path, *, stats: bool) -> None:
    """Rewrite a build's manifest as builds before the note files wrote it: every note's record inline."""
    path = folder / "manifest.json"
    raw = json.loads(path.read_text())
    records = {rel: record.to_json() for rel, record in read_manifest(folder).notes.items()}
    for record in records.values():
        for key in () if stats else ("mtime_ns", "ctime_ns", "inode"):
            del record[key]
    raw["corpus"] = {"path": raw["corpus"]["path"], "files": records}
    for name in NOTE_FILES:
        del raw["files"][name], raw["file_sizes"][name]
        (folder / name).unlink()
    path.write_text(json.dumps(raw))


def test_an_older_build_with_its_notes_inline_reads_as_before(built: Settings, fake_model: ModelInfo) -> None:
    folder = current_build(built.index_dir)
    assert folder is not None
    before = read_manifest(folder)
    as_older_build(folder, stats=True)
    older = read_manifest(folder)
    assert isinstance(older.notes, NoteTable) and not older.notes_apart
    assert dict(older.notes) == dict(before.notes) and older.note_hashes() == before.note_hashes()
    assert (index_status(built).state, index_status(built).hashed) == ("fresh", 0)
    (built.corpus_dir / "cache.md").write_text("# Cache\n\n- changed\n")
    assert index_status(built).reason == "notes 1 changed"
    build(built, fake_model)  # the next build writes the note files
    newer = read_manifest(current_build(built.index_dir))  # type: ignore[arg-type]
    assert isinstance(newer.notes, NoteArrays) and newer.notes_apart and set(newer.notes) == set(before.notes)


def test_corpus_hashes_agree_with_reading_everything(built: Settings) -> None:
    folder = current_build(built.index_dir)
    assert folder is not None
    (built.corpus_dir / "cache.md").write_text("# Cache\n\nchanged\n")
    (built.corpus_dir / "big.md").write_text("x" * 200)
    (built.corpus_dir / "binary.md").write_bytes(b"\x00\x01")
    now = corpus_hashes(built.corpus_dir, read_manifest(folder).notes, max_file_bytes=100,
                        skip=(built.index_dir,))
    assert now.hashes == read_corpus(built.corpus_dir, max_file_bytes=100, skip=(built.index_dir,)).hashes()
    assert set(now.hashes) == {"cache.md", "storage.md"}  # database.md is over 100 bytes, skipped as a build skips it
    assert now.hashed == 4  # the edited note, the two new ones and database.md: all but storage.md


def _touch(path: Path) -> None:
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 10**9))  # same text, another stat


@pytest.mark.parametrize("change", ["none", "touched", "edited", "added", "removed", "link", "emptied out", "renamed"])
def test_the_one_pass_check_agrees_with_the_per_note_check(
    built: Settings, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the build's note table, notes found in the recorded order are checked in one pass; with the same
    records as a plain mapping, note by note. Both must say the same of every change."""
    folder = current_build(built.index_dir)
    assert folder is not None
    arrays = read_manifest(folder).notes
    assert isinstance(arrays, NoteArrays)
    corpus = built.corpus_dir
    first = sorted(corpus.glob("*.md"))[0]
    if change == "touched":
        _touch(first)
    elif change == "edited":
        first.write_text(first.read_text() + "\nmore\n")
    elif change == "added":
        (corpus / "zz.md").write_text("# New\n\nnew\n")
    elif change == "removed":
        first.unlink()
    elif change == "link":  # a note replaced by a link to the same text: same hash, another stat
        target = built.index_dir.parent / "outside.md"
        target.write_bytes(first.read_bytes())
        first.unlink()
        first.symlink_to(target)
    elif change == "emptied out":
        first.write_bytes(b"\x00binary")
    elif change == "renamed":
        first.rename(first.with_name("renamed.md"))
    compared = []
    same_stats = NoteArrays.same_stats
    monkeypatch.setattr(NoteArrays, "same_stats", lambda self, *a: compared.append(same_stats(self, *a)) or compared[-1])
    kw = {"skip": (built.index_dir,), "follow_links": True}
    one_pass = corpus_hashes(corpus, arrays, **kw)  # type: ignore[arg-type]
    per_note = corpus_hashes(corpus, dict(arrays), **kw)  # type: ignore[arg-type]
    assert one_pass.hashes == per_note.hashes == read_corpus(corpus, **kw).hashes()  # type: ignore[arg-type]
    assert (one_pass.hashed, one_pass.unchanged, one_pass.warnings) == (
        per_note.hashed, per_note.unchanged, per_note.warnings)
    assert one_pass.unchanged == (change in ("none", "touched", "link"))
    assert one_pass.hashed == {"none": 0, "added": 1, "removed": 0, "renamed": 1}.get(change, 1)
    # the one pass ran when the notes are the recorded ones in their order
    assert (compared[0] is not None) == (change not in ("added", "removed", "renamed"))


def test_racily_clean_notes_get_a_stat_when_read_again_unchanged(notes_settings: Settings) -> None:
    """Notes modified just before a build read them are recorded without a stat; at the end of the build
    each is read again, and keeps its stat only if its bytes are still the ones indexed."""
    from indexer.corpus import settle_racy

    corpus = read_corpus(notes_settings.corpus_dir)  # just written: every note is racily clean
    started = min(note.stat.mtime_ns for note in corpus.notes if note.stat)
    records = {n.rel: NoteRecord.indexed(n.sha256, n.stat, read_from_ns=started) for n in corpus.notes if n.stat}
    assert all(r.stat is None for r in records.values())
    assert settle_racy(records, corpus.notes, 10**6, now_ns=lambda: started + RACY_NS // 2) == 0  # too soon
    edited = notes_settings.corpus_dir / "cache.md"
    edited.write_text(edited.read_text() + "- changed after the build read it\n")
    later = max(os.stat(notes_settings.corpus_dir / r).st_mtime_ns for r in records) + 2 * RACY_NS
    assert settle_racy(records, corpus.notes, 10**6, now_ns=lambda: later) == 2
    assert records["cache.md"].stat is None  # its bytes are not the ones indexed: read by the next check
    for rel in ("database.md", "storage.md"):
        assert records[rel].stat == NoteStat.of(os.stat(notes_settings.corpus_dir / rel))


def test_a_build_settles_its_racily_clean_notes(
    notes_settings: Settings, fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from indexer import build as build_module
    from indexer.corpus import settle_racy

    monkeypatch.setattr(build_module, "settle_racy",
                        lambda *a: settle_racy(*a, now_ns=lambda: time.time_ns() + 2 * RACY_NS))  # a long build
    build(notes_settings, fake_model)  # the notes were just written
    assert (index_status(notes_settings).state, index_status(notes_settings).hashed) == ("fresh", 0)
    monkeypatch.undo()
    (notes_settings.corpus_dir / "cache.md").write_text("# Cache\n\n- edited\n")
    build(notes_settings, fake_model)  # a quick build: the edited note stays racily clean, and is read
    folder = current_build(notes_settings.index_dir)
    assert folder is not None and read_manifest(folder).notes["cache.md"].stat is None
    assert index_status(notes_settings).state == "fresh"


# -- a refresh reads only the notes whose stat changed --------------------------------------------------


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the notes read from here on (every read of a note goes through ``corpus._read_note``)."""
    from indexer import corpus as corpus_module

    read: list[str] = []
    real = corpus_module._read_note

    def spy(path: Path, max_bytes: int, seen: os.stat_result | None = None) -> tuple[bytes, NoteStat]:
        read.append(Path(path).name)
        return real(path, max_bytes, seen)

    monkeypatch.setattr(corpus_module, "_read_note", spy)
    return read


def _built_files(settings: Settings) -> dict[str, object]:
    """What a build holds, to compare two builds: its chunks, line rows, note hashes and BM25 vocabulary."""
    folder = current_build(settings.index_dir)
    assert folder is not None
    manifest = read_manifest(folder)
    return {
        "chunks": (folder / "chunks.jsonl").read_text(),
        "lines": json.loads((folder / "lines.json").read_text()),
        "notes": manifest.notes.hashes(),
        "vocab": (folder / "bm25.vocab.json").read_text(),
        "lines.npy": np.load(folder / "lines.npy").tobytes(),
    }


def test_a_refresh_reads_only_the_notes_whose_stat_changed(
    built: Settings, fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    edited = built.corpus_dir / "cache.md"
    edited.write_text(edited.read_text() + "- Redis supports sorted sets\n")
    (built.corpus_dir / "queue.md").write_text("# Queue\n\n## SQS\n\n- messages are kept up to 14 days\n")
    age_note(edited)
    age_note(built.corpus_dir / "queue.md")
    reads = _reads(monkeypatch)
    build(built, fake_model)
    assert sorted(reads) == ["cache.md", "queue.md"]  # not database.md or storage.md
    refreshed = _built_files(built)
    monkeypatch.undo()
    build_index(built, full=True, embedder=FakeEmbedder(), token_counter=WordCounter(), model=fake_model)
    assert refreshed == _built_files(built)  # the same build as reading (and cutting) every note
    status = index_status(built)
    assert (status.state, status.hashed) == ("fresh", 0)


def test_a_note_whose_reading_warned_is_read_and_warns_again(
    notes_settings: Settings, fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from indexer.chunker import MAX_LINE_CHARS

    (notes_settings.corpus_dir / "latin1.md").write_bytes("# Caf\xe9\n\n- cr\xe8me br\xfbl\xe9e\n".encode("latin-1"))
    (notes_settings.corpus_dir / "long.md").write_text("# Long\n\n" + "word " * (MAX_LINE_CHARS // 4) + "\n")
    age(notes_settings.corpus_dir)
    first = build_index(notes_settings, embedder=FakeEmbedder(), token_counter=WordCounter(), model=fake_model)
    folder = current_build(notes_settings.index_dir)
    assert folder is not None
    assert json.loads((folder / "notes.json").read_text())["reread"] == ["latin1.md", "long.md"]
    (notes_settings.corpus_dir / "storage.md").write_text("# Storage\n\n## S3\n\n- versioning keeps old objects\n")
    age_note(notes_settings.corpus_dir / "storage.md")
    reads = _reads(monkeypatch)
    again = build_index(notes_settings, embedder=FakeEmbedder(), token_counter=WordCounter(), model=fake_model)
    assert sorted(set(reads) - {"storage.md"}) == ["latin1.md", "long.md"]  # and not database.md or cache.md
    assert set(first.warnings) == set(again.warnings) and len(again.warnings) == 2


def test_an_index_that_does_not_say_which_notes_warned_reads_every_note(
    built: Settings, fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Builds made before ``reread`` was recorded (and builds of another folder) are refreshed by reading all."""
    from indexer import build as build_module

    folder = current_build(built.index_dir)
    assert folder is not None
    manifest = read_manifest(folder)
    assert isinstance(manifest.notes, NoteArrays) and manifest.notes.reread == frozenset()
    older = NoteArrays(list(manifest.notes), np.load(folder / "notes.stat.npy"), np.load(folder / "notes.sha256.npy"))
    assert older.reread is None
    reads = _reads(monkeypatch)
    from dataclasses import replace

    assert len(build_module._read_notes(built, replace(manifest, notes=older)).notes) == 3
    assert sorted(reads) == ["cache.md", "database.md", "storage.md"]
    reads.clear()
    assert len(build_module._read_notes(built, replace(manifest, corpus_path="/elsewhere")).notes) == 3
    assert len(reads) == 3
    reads.clear()
    unread = build_module._read_notes(built, manifest)
    assert reads == [] and all(note.text is None for note in unread.notes)


def test_a_note_left_unread_is_read_when_its_chunks_must_be_cut_again(
    built: Settings, fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A note with no chunks in the previous build (empty) has nothing to take over: it is read and cut."""
    (built.corpus_dir / "empty.md").write_text("")
    age_note(built.corpus_dir / "empty.md")
    build(built, fake_model)
    reads = _reads(monkeypatch)
    report = build_index(built, embedder=FakeEmbedder(), token_counter=WordCounter(), model=fake_model)
    assert reads == ["empty.md"] and report.files == 4


def test_a_build_with_another_chunker_reads_the_notes_it_left_unread(
    built: Settings, fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live build's records say every note is unchanged, but its chunks cannot be taken over (the
    chunker settings changed): each note is read and cut again, as a full build does."""
    from dataclasses import replace

    from indexer.settings import ChunkerSettings

    other = replace(built, chunker=ChunkerSettings(target_tokens=16, max_tokens=64))
    reads = _reads(monkeypatch)
    report = build_index(other, embedder=FakeEmbedder(), token_counter=WordCounter(), model=fake_model)
    assert sorted(reads) == ["cache.md", "database.md", "storage.md"] and "chunker" in report.reason
    refreshed = _built_files(other)
    monkeypatch.undo()
    build_index(other, full=True, embedder=FakeEmbedder(), token_counter=WordCounter(), model=fake_model)
    assert refreshed == _built_files(other)


def test_a_missing_corpus_folder_leaves_no_index_folder_behind(tmp_path: Path, fake_model: ModelInfo) -> None:
    from indexer.errors import CorpusError

    settings = Settings(corpus_dir=tmp_path / "nowhere", index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    with pytest.raises(CorpusError, match="does not exist"):
        build(settings, fake_model)
    assert not settings.index_dir.exists()


# -- notes rewritten unchanged (a checkout, a sync) are read once, not by every check ------------------


def _touch_unchanged(folder: Path, *names: str) -> None:
    """Rewrite notes with the same bytes (new inode, ctime and mtime), dated back so their stat is trusted."""
    for name in names:
        path = folder / name
        data = path.read_bytes()
        path.unlink()
        path.write_bytes(data)
        age_note(path)


def test_notes_rewritten_unchanged_are_read_once_then_trusted(
    built: Settings, fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from indexer.note_table import NOTE_STATS_SEEN

    folder = current_build(built.index_dir)
    assert folder is not None
    own_files = {p.name: p.read_bytes() for p in folder.iterdir()}
    _touch_unchanged(built.corpus_dir, "cache.md", "storage.md")
    first = index_status(built)
    assert (first.state, first.hashed) == ("fresh", 2)
    again = index_status(built)  # the first check kept what it saw
    assert (again.state, again.hashed) == ("fresh", 0)
    assert (folder / NOTE_STATS_SEEN).is_file()
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.name != NOTE_STATS_SEEN} == own_files
    assert read_manifest(folder).notes["cache.md"].stat == NoteStat.of(os.stat(built.corpus_dir / "cache.md"))
    edited = built.corpus_dir / "database.md"
    edited.write_text(edited.read_text() + "- Aurora replicates six ways\n")
    age_note(edited)
    reads = _reads(monkeypatch)
    build(built, fake_model)  # a refresh trusts the stats seen too
    assert reads == ["database.md"]


def test_a_note_rewritten_just_now_is_not_trusted_yet(built: Settings) -> None:
    path = built.corpus_dir / "cache.md"
    data = path.read_bytes()
    path.unlink()
    path.write_bytes(data)  # modified now: its stat may not show a second change within the tick
    assert [index_status(built).hashed for _ in range(2)] == [1, 1]


def test_a_changed_note_is_not_kept_as_seen(built: Settings) -> None:
    path = built.corpus_dir / "cache.md"
    path.write_text(path.read_text().replace("Redis", "REDIS"))  # the same size: only its hash tells
    age_note(path)
    assert [(s.state, s.hashed) for s in (index_status(built), index_status(built))] == [("stale", 1)] * 2


@pytest.mark.parametrize("damage", ["garbage", "wrong shape", "other sizes", "fifo"])
def test_a_seen_stat_table_that_does_not_fit_is_ignored(built: Settings, damage: str) -> None:
    from indexer.note_table import NOTE_STATS_SEEN

    folder = current_build(built.index_dir)
    assert folder is not None
    _touch_unchanged(built.corpus_dir, "cache.md")
    seen = folder / NOTE_STATS_SEEN
    stats = np.load(folder / "notes.stat.npy")
    if damage == "garbage":
        seen.write_bytes(b"not an array")
    elif damage == "wrong shape":
        np.save(seen, stats[:2])
    elif damage == "other sizes":
        other = stats.copy()
        other[:, 1:4] = [[os.stat(built.corpus_dir / rel)[i] for i in (8, 9, 1)] for rel in json.loads(
            (folder / "notes.json").read_text())["paths"]]  # every note trusted as it is now...
        other[:, 0] += 1  # ...but with sizes the notes never had
        np.save(seen, other)
    else:
        os.mkfifo(seen)
    status = index_status(built)
    assert (status.state, status.hashed) == ("fresh", 1)  # read, as without it
    assert index_status(built).hashed == 0  # and the table written again, as it should be


def test_a_seen_stat_table_that_cannot_be_written_changes_nothing(
    built: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from indexer import note_table

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "read-only index")

    monkeypatch.setattr(note_table, "atomic_write", refuse)
    _touch_unchanged(built.corpus_dir, "cache.md")
    assert [(s.state, s.hashed) for s in (index_status(built), index_status(built))] == [("fresh", 1)] * 2
