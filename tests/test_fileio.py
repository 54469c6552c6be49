"""indexer.fileio: a folder written as a whole replaces the old one in one step, or not at all."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from indexer.fileio import atomic_folder


def _tree(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


def test_atomic_folder_creates_the_folder(tmp_path: Path) -> None:
    target = tmp_path / "cache" / "model"
    with atomic_folder(target) as tmp:
        assert tmp.parent == target.parent and tmp != target and not any(tmp.iterdir())
        (tmp / "a.txt").write_text("new")
        assert not target.exists()  # nothing is visible before the block ends
    assert _tree(target) == {"a.txt": "new"}
    assert os.listdir(target.parent) == ["model"]


def test_atomic_folder_replaces_an_old_folder_whole(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "a.txt").write_text("old")
    (target / "stale.txt").write_text("old")
    with atomic_folder(target) as tmp:
        (tmp / "a.txt").write_text("new")
    assert _tree(target) == {"a.txt": "new"}  # no file of the old folder survives
    assert os.listdir(tmp_path) == ["model"]


def test_a_failed_block_leaves_the_old_folder_and_no_leftovers(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "a.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_folder(target) as tmp:
        (tmp / "a.txt").write_text("half")
        raise RuntimeError("embedding failed")
    assert _tree(target) == {"a.txt": "old"}
    assert os.listdir(tmp_path) == ["model"]


def test_a_failed_swap_puts_the_old_folder_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "a.txt").write_text("old")
    real_rename = os.rename
    calls: list[str] = []

    def rename(src: str | Path, dst: str | Path) -> None:
        calls.append(Path(src).name)
        if len(calls) == 2:  # the old folder went aside; moving the new one in fails
            raise OSError(28, "No space left on device")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)  # the os module fileio calls
    with pytest.raises(OSError, match="No space"), atomic_folder(target) as tmp:
        (tmp / "a.txt").write_text("new")
    assert len(calls) == 3  # aside, the failed swap, back
    assert _tree(target) == {"a.txt": "old"}
    assert os.listdir(tmp_path) == ["model"]


def test_a_link_in_place_of_the_folder_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine")
    (tmp_path / "cache").mkdir()
    target = tmp_path / "cache" / "model"
    target.symlink_to(victim)
    with atomic_folder(target) as tmp:
        (tmp / "a.txt").write_text("new")
    assert not target.is_symlink() and _tree(target) == {"a.txt": "new"}
    assert _tree(victim) == {"keep.txt": "mine"}
