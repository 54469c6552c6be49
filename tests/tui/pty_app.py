"""The real ``notes-qa tui`` on a pseudo-terminal, in a new session (no controlling terminal, so no SIGHUP)."""

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


class PtyApp:
    """Start the app over an empty corpus under ``tmp_path``; read its screen bytes until a marker shows."""

    def __init__(self, tmp_path: Path, *, echo: bool = True) -> None:
        self.master, slave = pty.openpty()
        if not echo:  # the terminal does not echo: only the app can show what was typed
            attrs = termios.tcgetattr(slave)
            attrs[3] &= ~termios.ECHO
            termios.tcsetattr(slave, termios.TCSANOW, attrs)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color", "HF_HUB_OFFLINE": "1",
               "NOTES_QA_STATE": str(tmp_path / "state")}
        self.child = subprocess.Popen(
            [sys.executable, "-m", "notes_qa_cli", "tui", "--corpus", str(tmp_path / "none"), "--index", str(tmp_path / "i")],
            stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True, cwd=tmp_path,
        )
        os.close(slave)
        self.seen = b""

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def read_until(self, marker: bytes, timeout: float = 300) -> bool:
        """Read the screen until ``marker`` shows; the deadline is generous: only a never-painting app runs out."""
        deadline = time.monotonic() + timeout
        while marker not in self.seen and time.monotonic() < deadline and self.child.poll() is None:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    self.seen += os.read(self.master, 65536)
                except OSError:
                    break
        return marker in self.seen

    def hang_up(self) -> None:
        """Close the terminal's side, as a closed window does."""
        if self.master >= 0:
            os.close(self.master)
            self.master = -1

    def close(self) -> None:
        self.hang_up()
        if self.child.poll() is None:
            self.child.kill()
        self.child.wait()
