"""The app quits when its terminal goes away, instead of spinning on a dead terminal."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from ..conftest import ROOT


def test_the_app_exits_when_its_terminal_hangs_up(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color", "HF_HUB_OFFLINE": "1",
           "NOTES_QA_STATE": str(tmp_path / "state")}
    # No controlling terminal (a new session): no SIGHUP will come, as under `make run` in a
    # killed tmux; only the terminal itself failing can tell the app.
    child = subprocess.Popen(
        [sys.executable, "-m", "indexer", "tui", "--corpus", str(tmp_path / "none"), "--index", str(tmp_path / "i")],
        stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True, cwd=tmp_path,
    )
    os.close(slave)
    try:
        seen = b""
        deadline = time.monotonic() + 300  # generous: only a never-painting app runs out
        while b"Question" not in seen and time.monotonic() < deadline and child.poll() is None:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(master, 65536)
                except OSError:
                    break
        assert b"Question" in seen, seen[-500:]
        os.close(master)  # the window closes
        master = -1
        child.wait(timeout=120)  # raises if the app keeps running
    finally:
        if master >= 0:
            os.close(master)
        if child.poll() is None:
            child.kill()
            child.wait()
