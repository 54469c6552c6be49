"""The build folders of an index: a finished build swapped in, leftovers cleaned away.

A build writes into ``tmp-STAMP``, renames it to ``build-STAMP`` and points the
``current`` link at it in one atomic rename; readers see the old build or the
new one, never half of one. Both functions run under the build lock and do every
file operation that matters through ``disk`` (fault injection, see ``disk.py``).
"""

from __future__ import annotations

import os
import shutil
from contextlib import suppress
from pathlib import Path

from .disk import Disk
from .index_files import CURRENT, current_build


def swap_in(index_root: Path, tmp: Path, stamp: str, disk: Disk) -> Path:
    """Make the finished build in ``tmp`` the live one; returns its final folder."""
    final = index_root / f"build-{stamp}"
    disk.rename(tmp, final)
    current = index_root / CURRENT
    if current.is_dir() and not current.is_symlink():
        # A copy made with ``cp -rL`` turned the link into a folder, which no link can
        # replace: it becomes an ordinary build folder (cleaned like the others).
        disk.rename(current, index_root / f"build-{stamp}-copied")
    link_tmp = index_root / f".current-{os.getpid()}"
    if link_tmp.is_symlink() or link_tmp.exists():
        link_tmp.unlink()
    disk.symlink(final.name, link_tmp)
    disk.replace(link_tmp, current)  # atomic: readers see old or new
    # The new build is live already: should the swap not reach the disk before a crash,
    # the old link comes back, and its build is kept (the newest two are).
    with suppress(OSError):
        disk.fsync(index_root)
    return final


def clean_builds(index_root: Path, keep: set[Path]) -> None:
    """Remove unfinished builds and all but the newest two finished ones.

    Runs under the build lock, so every ``tmp-*`` folder and ``.current-*``
    link is a leftover of an interrupted build. The live build is always kept,
    even when interrupted builds left newer ``build-*`` folders.
    """
    live = current_build(index_root)
    protected = {p.resolve() for p in keep} | ({live} if live is not None else set())
    builds = sorted((p for p in index_root.glob("build-*") if p.is_dir() and not p.is_symlink()), key=lambda p: p.name)
    for path in index_root.glob("tmp-*"):
        shutil.rmtree(path, ignore_errors=True)
    for path in index_root.glob(".current-*"):
        if path.is_symlink():
            path.unlink(missing_ok=True)
    for path in builds[:-2]:
        if path.resolve() not in protected:
            shutil.rmtree(path, ignore_errors=True)
