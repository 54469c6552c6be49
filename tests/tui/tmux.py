"""Drive a program in a real terminal: a tmux session on a private server, read back as text."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence

#: A result row of the list: "│  1 ████▍   0.91  Heading" (rank, then the score bar).
_ROW = re.compile(r"^│\s*(\d+) (?!│)")  # a full row (bar after the rank) or a compact one; not a preview line


def have_tmux() -> bool:
    return shutil.which("tmux") is not None


class TmuxScreen:
    """One detached tmux session running ``argv`` in a ``width`` x ``height`` terminal."""

    def __init__(self, argv: Sequence[str], *, env: Mapping[str, str], width: int = 160, height: int = 40,
                 cwd: str | None = None) -> None:
        self.server = f"notes-qa-{os.getpid()}-{id(self)}"
        self.target = "app"
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        command = f"env {exports} {shlex.join(argv)}; echo '[exited]'; sleep 600"
        self._tmux("new-session", "-d", "-s", self.target, "-x", str(width), "-y", str(height),
                   *(("-c", cwd) if cwd else ()), command)

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.server, *args], capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise RuntimeError(f"tmux {args[0]} failed: {done.stderr.strip()}")
        return done.stdout

    def text(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.target)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", self.target, "-l", text)

    def press(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", self.target, *keys)

    def wait_for(self, condition: Callable[[str], bool], what: str, timeout: float = 120.0,
                 poll: float = 0.02) -> str:
        """Poll the screen until ``condition(text)`` holds; the screen text then."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if condition(text):
                return text
            if "[exited]" in text or time.monotonic() > deadline:
                raise AssertionError(f"waiting for {what}: not seen; the screen:\n{text}")
            time.sleep(poll)

    def close(self) -> None:
        """End the session and everything that runs in it.

        Killing the tmux server hangs up the pane, but a program that ignores the hang-up (a
        launcher without ``notes-qa tui``'s SIGHUP handling) would live on: the pane's whole
        process group is killed too.
        """
        try:
            pane = int(self._tmux("display", "-p", "-t", self.target, "#{pane_pid}").strip())
        except (RuntimeError, ValueError, subprocess.TimeoutExpired):
            pane = 0
        subprocess.run(["tmux", "-L", self.server, "kill-server"], capture_output=True, timeout=30)
        if pane > 0:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pane, signal.SIGKILL)


def result_rows(text: str) -> dict[int, str]:
    """The text of each result row (its rank line and the lines under it) in the results pane, by rank."""
    rows: dict[int, list[str]] = {}
    rank = 0
    for line in text.splitlines():
        match = _ROW.match(line)
        if match:
            rank = int(match.group(1))
        if rank:
            pane = line.split("││")[0] if "││" in line else line
            rows.setdefault(rank, []).append(pane)
        if line.startswith("╰"):
            rank = 0
    return {r: "\n".join(lines) for r, lines in rows.items()}
