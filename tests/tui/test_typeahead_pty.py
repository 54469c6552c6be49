"""In a real terminal: what is typed while the program starts reaches the question box."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

from ..conftest import ROOT


def test_keys_typed_while_the_program_starts_reach_the_question_box(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[3] &= ~termios.ECHO  # the terminal does not echo: only the app can show what was typed
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color", "HF_HUB_OFFLINE": "1",
           "NOTES_QA_STATE": str(tmp_path / "state")}
    child = subprocess.Popen(
        [sys.executable, "-m", "indexer", "tui", "--corpus", str(tmp_path / "none"), "--index", str(tmp_path / "i")],
        stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True, cwd=tmp_path,
    )
    os.close(slave)
    try:
        os.write(master, b"zebra")  # at once: long before Python and Textual are up
        seen = b""
        deadline = time.monotonic() + 60
        while b"zebra" not in seen and time.monotonic() < deadline and child.poll() is None:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(master, 65536)
                except OSError:
                    break
        assert b"zebra" in seen, seen[-800:]
    finally:
        os.close(master)
        if child.poll() is None:
            child.kill()
        child.wait()
