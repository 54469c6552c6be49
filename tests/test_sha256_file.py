"""``sha256_file`` reads in large blocks; every size around a block's edge hashes as the whole file does."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from indexer import fileio
from indexer.fileio import sha256_file


@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 200])
def test_the_hash_is_the_whole_files_at_every_block_edge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         size: int) -> None:
    monkeypatch.setattr(fileio, "HASH_BLOCK", 64)
    path = tmp_path / "f"
    path.write_bytes(os.urandom(size))
    assert sha256_file(path) == hashlib.sha256(path.read_bytes()).hexdigest()
