"""The manifest's note records, made when used, and the freshness check that compares stats without them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from indexer import note_table
from indexer.build import build_index, index_status
from indexer.errors import IndexFileError
from indexer.index_files import current_build
from indexer.manifest import read_manifest
from indexer.manifest_records import NoteRecord, NoteStat
from indexer.model_files import ModelInfo
from indexer.note_table import (
    NOTE_FILES,
    NOTE_HASHES,
    NOTE_PATHS,
    NOTE_STATS,
    NoteArrays,
    NoteTable,
    stat_key,
    unchanged_hash_of,
    write_note_files,
)

from .conftest import SMALL_NOTES, small_settings
from .fakes import FakeEmbedder, WordCounter

SHA = "a" * 64


def stat_of(path: Path) -> os.stat_result:
    return os.stat(path)


def test_a_recorded_hash_is_used_only_while_the_stat_is_the_recorded_one(tmp_path: Path) -> None:
    note = tmp_path / "a.md"
    note.write_text("# A\n")
    info = stat_of(note)
    record = {"sha256": SHA, "size": info.st_size, "mtime_ns": info.st_mtime_ns, "ctime_ns": info.st_ctime_ns,
              "inode": info.st_ino}
    table = NoteTable.parsed({"a.md": record, "b.md": {"sha256": SHA, "size": 3}})
    as_dict = {"a.md": NoteRecord(SHA, info.st_size, NoteStat.of(info)), "b.md": NoteRecord(SHA, 3)}
    for known in (table, as_dict):  # the table and plain records agree
        assert unchanged_hash_of(known)("a.md", stat_key(info)) == SHA
        assert unchanged_hash_of(known)("b.md", stat_key(info)) is None  # recorded without a stat: read it
        assert unchanged_hash_of(known)("c.md", stat_key(info)) is None  # not recorded
    note.write_text("# A, edited\n")
    assert unchanged_hash_of(table)("a.md", stat_key(stat_of(note))) is None
    os.utime(note, ns=(info.st_atime_ns, info.st_mtime_ns))  # mtime put back: the size still differs
    assert unchanged_hash_of(table)("a.md", stat_key(stat_of(note))) is None
    assert table["a.md"] == as_dict["a.md"] and dict(table) == as_dict
    assert table.hashes() == {"a.md": SHA, "b.md": SHA}


def test_a_damaged_record_fails_when_read_in_a_small_manifest_and_where_used_in_a_large_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    raw = {"good.md": {"sha256": SHA, "size": 1}, "bad.md": {"sha256": 7, "size": 1}}
    with pytest.raises(IndexFileError, match="note 'bad.md'"):
        NoteTable.parsed(raw)
    monkeypatch.setattr(note_table, "EAGER_NOTES", 0)
    table = NoteTable.parsed(raw)
    assert table["good.md"].sha256 == SHA and "bad.md" in table and len(table) == 2
    with pytest.raises(IndexFileError, match="note 'bad.md'"):
        table["bad.md"]
    with pytest.raises(IndexFileError, match="note 'bad.md'"):
        table.hashes()


def test_the_freshness_check_of_a_large_manifest_reads_only_changed_notes(
    tmp_path: Path, fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(note_table, "EAGER_NOTES", 0)
    settings = small_settings(tmp_path, SMALL_NOTES)
    old = 1_600_000_000 * 10**9  # long before the build: every note's stat is recorded
    for note in settings.corpus_dir.iterdir():
        os.utime(note, ns=(old, old))
    build_index(settings, embedder=FakeEmbedder(), token_counter=WordCounter(), model=fake_model)
    assert isinstance(read_manifest(current_build(settings.index_dir)).notes, NoteArrays)  # type: ignore[arg-type]
    status = index_status(settings)
    assert (status.state, status.hashed) == ("fresh", 0)
    (settings.corpus_dir / "cache.md").write_text("# Cache\n\n- changed\n")
    (settings.corpus_dir / "new.md").write_text("# New\n")
    status = index_status(settings)
    assert (status.state, status.reason, status.hashed) == ("stale", "notes 1 changed, 1 new", 2)
    (settings.corpus_dir / "new.md").unlink()
    (settings.corpus_dir / "storage.md").unlink()
    assert index_status(settings).reason == "notes 1 changed, 1 removed"
    manifest_file = current_build(settings.index_dir) / "manifest.json"  # type: ignore[operator]
    raw = json.loads(manifest_file.read_text())
    assert raw["corpus"]["notes"] == 3 and set(NOTE_FILES) <= set(raw["files"])  # the records are in the note files


def note_files(tmp_path: Path) -> tuple[dict[str, NoteRecord], dict[str, int]]:
    from indexer.disk import Disk

    records = {"a.md": NoteRecord("ab" * 32, 10, NoteStat(10, 5, 6, 7)), "dir/b.md": NoteRecord("cd" * 32, 3)}
    write_note_files(tmp_path, records, Disk())
    return records, {name: (tmp_path / name).stat().st_size for name in NOTE_FILES}


def test_the_note_files_give_back_every_record(tmp_path: Path) -> None:
    records, sizes = note_files(tmp_path)
    table = NoteArrays.load(tmp_path, 2, sizes)
    assert dict(table) == records and list(table) == ["a.md", "dir/b.md"] and "c.md" not in table
    assert table.hashes() == {"a.md": "ab" * 32, "dir/b.md": "cd" * 32}
    # mode, ino, dev, nlink, uid, gid, size, 3 x int time, 3 x float time, atime_ns, mtime_ns, ctime_ns
    same = os.stat_result((0o100644, 7, 0, 1, 0, 0, 10, 0, 0, 0, 0.0, 0.0, 0.0, 0, 5, 6))
    moved = os.stat_result((0o100644, 8, 0, 1, 0, 0, 10, 0, 0, 0, 0.0, 0.0, 0.0, 0, 5, 6))
    assert unchanged_hash_of(table)("a.md", stat_key(same)) == "ab" * 32 and unchanged_hash_of(table)("a.md", stat_key(moved)) is None
    assert unchanged_hash_of(table)("dir/b.md", stat_key(same)) is None  # recorded without a stat: always read
    assert unchanged_hash_of(table)("c.md", stat_key(same)) is None


@pytest.mark.parametrize(
    ("damage", "sized", "needle"),
    [  # sized: the manifest's sizes are checked (a content edit below keeps them out, to reach the content checks)
        (lambda f: (f / NOTE_STATS).write_bytes((f / NOTE_STATS).read_bytes() + b"x"), True,
         "notes.stat.npy is 209 bytes, the manifest says 208"),
        (lambda f: (f / NOTE_HASHES).unlink(), True, "notes.sha256.npy is missing or unreadable"),
        (lambda f: (f / NOTE_PATHS).write_text('{"paths": ["a.md", "a.md"]}'), False, "note table is invalid (paths)"),
        (lambda f: (f / NOTE_PATHS).write_text('{"paths": ["a.md"]}'), False, "note table is invalid (paths)"),
        (lambda f: (f / NOTE_PATHS).write_text("not json"), False, "note table is invalid (JSONDecodeError)"),
        (lambda f: np.save(f / NOTE_STATS, np.zeros((2, 4), dtype=np.int64)), False,
         "note table is invalid (array shapes)"),
        (lambda f: np.save(f / NOTE_STATS, np.full((2, 5), 2, dtype=np.int64)), False, "note table is invalid (stats)"),
    ],
)
def test_a_damaged_note_table_is_an_index_error(tmp_path: Path, damage: Any, sized: bool, needle: str) -> None:
    _, sizes = note_files(tmp_path)
    damage(tmp_path)
    with pytest.raises(IndexFileError) as raised:
        NoteArrays.load(tmp_path, 2, sizes if sized else {})
    assert needle in raised.value.message
