"""Fault injection: every write of a build fails in turn; the previous index always answers.

A build makes all its file operations through :class:`indexer.disk.Disk`. One
counting build lists them (creates, block writes, fsyncs, renames, the link
swap); then, for each operation N and each of ``ENOSPC`` and ``EIO``, the CLI
runs again with the Nth operation failing:

- ``notes-qa index`` stops with one line that says what the system said
  ("No space left on device", "Input/output error") and that the previous index
  is kept, exit 4;
- ``notes-qa ask`` (the notes changed, so it tries to refresh) answers from the
  previous index with a one-line warning, exit 0;
- the live build is the one from before, loads and answers, and no temporary
  folder is left behind.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

import indexer.build
from indexer.disk import Disk
from indexer.errors import EXIT_INDEX
from indexer.index_files import current_build, load_index

from .conftest import SMALL_NOTES, write_notes
from .reliability_support import FakeCLI, assert_clean_error, assert_ok


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> FakeCLI:
    return FakeCLI(monkeypatch, capsys, tmp_path)


class Faults:
    """A ``Disk`` fault function: records every operation, fails the ``fail_at``-th (1-based)."""

    def __init__(self, fail_at: int = 0, code: int = errno.ENOSPC) -> None:
        self.fail_at = fail_at
        self.code = code
        self.ops: list[tuple[str, str]] = []

    def __call__(self, kind: str, path: Path) -> None:
        self.ops.append((kind, path.name))
        if len(self.ops) == self.fail_at:
            raise OSError(self.code, os.strerror(self.code), str(path))


def use_disk(monkeypatch: pytest.MonkeyPatch, faults: Faults) -> None:
    monkeypatch.setattr(indexer.build, "Disk", lambda: Disk(fault=faults))


def test_every_write_of_a_build_can_fail_and_the_old_index_still_answers(
    cli: FakeCLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes = write_notes(tmp_path / "notes", SMALL_NOTES)
    args = ["--corpus", str(notes), "--index", str(tmp_path / "index")]
    assert cli("index", *args).code == 0
    old = current_build(tmp_path / "index")
    counting = Faults()
    use_disk(monkeypatch, counting)
    (notes / "cache.md").write_text("# Cache\n\n- Redis sorted sets rank leaderboards\n")
    assert cli("index", *args).code == 0  # the counting run (then undone: the old build is made live again)
    ops = counting.ops
    kinds = {kind for kind, _ in ops}
    assert {"mkdir", "create", "write", "fsync", "rename", "symlink"} <= kinds, ops
    assert len(ops) >= 30, ops  # ten files, each created, written and flushed, plus the swap
    (tmp_path / "index" / "current").unlink()
    (tmp_path / "index" / "current").symlink_to(old.name)
    (notes / "cache.md").write_text("# Cache\n\n- Redis sorted sets rank leaderboards, changed again\n")
    failures = 0
    for number, (kind, name) in enumerate(ops, start=1):
        for code in (errno.ENOSPC, errno.EIO):
            where = f"operation {number} ({kind} {name}, {errno.errorcode[code]})"
            if (kind, name) == ("fsync", "index"):  # after the swap: the new build is live, not an error
                continue
            use_disk(monkeypatch, Faults(number, code))
            done = cli("index", *args)
            assert_clean_error(done, EXIT_INDEX, os.strerror(code), "the previous index is kept",
                               case=f"index: {where} fails")
            use_disk(monkeypatch, Faults(number, code))
            done = cli("ask", *args, "S3 durability")
            assert_ok(done, f"could not be refreshed ({os.strerror(code)}); answering from the previous index",
                      case=f"ask: {where} fails")
            assert "storage.md" in done.out, (where, done.out)
            assert current_build(tmp_path / "index") == old, where
            assert not list((tmp_path / "index").glob("tmp-*")), where
            failures += 1
    assert failures >= 2 * (len(ops) - 1)
    load_index(tmp_path / "index")
    use_disk(monkeypatch, Faults())
    assert cli("index", *args).code == 0  # and once the disk is well, the refresh goes through
    assert current_build(tmp_path / "index") != old


def test_a_failed_flush_after_the_swap_keeps_the_new_build(
    cli: FakeCLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes = write_notes(tmp_path / "notes", SMALL_NOTES)
    args = ["--corpus", str(notes), "--index", str(tmp_path / "index")]
    assert cli("index", *args).code == 0
    old = current_build(tmp_path / "index")
    counting = Faults()
    use_disk(monkeypatch, counting)
    assert cli("index", "--full", *args).code == 0
    last = len(counting.ops)
    assert counting.ops[-1] == ("fsync", "index")
    use_disk(monkeypatch, Faults(last, errno.EIO))
    done = cli("index", "--full", *args)
    assert done.code == 0, done.err
    assert current_build(tmp_path / "index") not in (None, old)
    load_index(tmp_path / "index")
