"""The freshness check's folder walk in a forked child (``walk_aside``): the same result as walking
here, never beside another thread, and a failing child leaves the walk (and its error) to the caller.

A walk is forked only from a process with one thread, and a test run has others (Milvus Lite's, the
thread pools of earlier tests): the cases that fork run in a new interpreter (``walk_aside_cases``)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from indexer.walk_aside import MIN_NOTES, start_walk

from .walk_aside_cases import odd_corpus

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the walk is forked on Linux only")


@pytest.mark.parametrize(
    "case", ["same_walk", "failed_child", "cancelled", "open_searcher_sees_an_edit", "sigchld_ignored"]
)
def test_in_a_one_thread_process(case: str, tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-c", f"import sys, pathlib; from tests.walk_aside_cases import {case}; "
                               f"{case}(pathlib.Path(sys.argv[1]))", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert run.returncode == 0, run.stderr[-3000:]


def test_no_child_for_a_small_index_or_beside_another_thread(tmp_path: Path) -> None:
    root = odd_corpus(tmp_path / "notes")
    kw = {"max_file_bytes": 1000, "skip": (), "follow_links": False}
    assert start_walk(root, MIN_NOTES - 1, **kw) is None  # type: ignore[arg-type]
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert start_walk(root, MIN_NOTES, **kw) is None  # type: ignore[arg-type]
    finally:
        stop.set()
        other.join()
