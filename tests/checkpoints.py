"""Phases a helper process reports, so tests aim kills and Ctrl+C at events instead of sleeping.

The child (``python -m tests.reliability_support ... --pause-at PHASE``) calls
:func:`checkpoint` at each phase it passes: the build's progress stages, each
embedding batch, each file-system step of swapping in a build (``os.rename``,
``os.replace``, ``os.symlink``, ``shutil.rmtree``; ``NAME`` before the call,
``NAME done`` after), argument parsing, imports. At the phase it was told to
stop at, it says so and waits until the parent says go (or signals or kills it).
Imports are reported only with ``--trace``. The hooks are installed in the helper process only; production code has
no switch for them.

The parent side is :class:`Helper`: start it, wait until it :meth:`Helper.paused`,
then kill it, interrupt it, or let it :meth:`Helper.go` on.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

#: How long a test waits for a phase: generous, it only runs out when the phase never comes.
PHASE_TIMEOUT = 300.0
PAUSED = "(paused)"


# --------------------------------------------------------------------------- child side


@dataclass
class _Plan:
    pause_at: str | None = None  # "PHASE" or "PHASE#N" (the Nth time), None: never pause
    ready_fd: int | None = None
    go_fd: int | None = None
    trace: bool = False
    seen: dict[str, int] = field(default_factory=dict)


_PLAN = _Plan()


def configure(pause_at: str | None, ready_fd: int | None, go_fd: int | None, trace: bool) -> None:
    _PLAN.pause_at, _PLAN.ready_fd, _PLAN.go_fd, _PLAN.trace = pause_at, ready_fd, go_fd, trace


def checkpoint(phase: str) -> None:
    """Report ``phase``; wait there when it is the one to pause at."""
    count = _PLAN.seen[phase] = _PLAN.seen.get(phase, 0) + 1
    if _PLAN.ready_fd is None:
        return
    if _PLAN.pause_at in (phase, f"{phase}#{count}"):
        os.write(_PLAN.ready_fd, f"{phase}#{count} {PAUSED}\n".encode())
        if _PLAN.go_fd is not None:
            os.read(_PLAN.go_fd, 1)  # a signal (Ctrl+C) raises here; EOF or a byte goes on
    elif _PLAN.trace or not phase.startswith("import "):
        os.write(_PLAN.ready_fd, f"{phase}\n".encode())


def _short(path: Any) -> str:
    """``build-20261202T...-123`` -> ``build``: the kind of entry, not its stamp."""
    return re.split(r"[-.]", Path(os.fspath(path)).name.lstrip(".") or "?", maxsplit=1)[0]


def _traced(op: str, real: Callable[..., Any], target_arg: int) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        name = f"{op} {_short(args[target_arg])}"
        checkpoint(name)
        result = real(*args, **kwargs)
        checkpoint(f"{name} done")
        return result

    return call


def install_file_hooks() -> None:
    """Report each rename, replace, symlink and tree removal (the steps of swapping in a build)."""
    os.rename = _traced("rename", os.rename, 1)  # type: ignore[assignment]
    os.replace = _traced("replace", os.replace, 1)  # type: ignore[assignment]
    os.symlink = _traced("symlink", os.symlink, 1)  # type: ignore[assignment]
    shutil.rmtree = _traced("rmtree", shutil.rmtree, 0)  # type: ignore[assignment]


def install_parse_hook() -> None:
    import argparse

    real = argparse.ArgumentParser.parse_args

    def parse_args(self: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> Any:
        checkpoint("parse")
        return real(self, *args, **kwargs)

    argparse.ArgumentParser.parse_args = parse_args  # type: ignore[method-assign]


class _ImportHook:
    """A meta-path finder that only reports ``import NAME`` and lets the real finders load it."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        checkpoint(f"import {name}")


def install_import_hook() -> None:
    sys.meta_path.insert(0, _ImportHook())  # type: ignore[arg-type]


# --------------------------------------------------------------------------- parent side


class Helper:
    """``python -m tests.reliability_support ARGS`` that reports its phases on a pipe."""

    def __init__(
        self, *args: str, pause_at: str | None = None, trace: bool = False, env: dict[str, str] | None = None,
        **popen: Any,
    ) -> None:
        ready_r, ready_w = os.pipe()
        go_r, self._go_w = os.pipe()
        hooks = ["--ready-fd", str(ready_w), "--go-fd", str(go_r)]
        hooks += ["--pause-at", pause_at] if pause_at else []
        hooks += ["--trace"] if trace else []
        command, rest = args[0], list(args[1:])
        cut = rest.index("--") if "--" in rest else len(rest)
        popen.setdefault("stdout", subprocess.PIPE)
        popen.setdefault("stderr", subprocess.PIPE)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability_support", command, *rest[:cut], *hooks, *rest[cut:]],
            cwd=ROOT,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", **(env or {})},
            pass_fds=(ready_w, go_r),
            # No preexec_fn: a fork-time hook in this multi-threaded process (the Milvus tests leave
            # gRPC threads running) once aborted the forked child before its exec, on a loaded machine.
            # Without one the child is started by vfork; it restores SIGINT itself (reliability_support).
            **popen,
        )
        os.close(ready_w)
        os.close(go_r)
        #: Every phase reported so far, in order (a paused one ends with PAUSED).
        self.phases: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, args=(ready_r,), daemon=True)
        self._reader.start()

    def _read(self, fd: int) -> None:
        with os.fdopen(fd, "rb") as stream:
            for raw in stream:
                line = raw.decode().rstrip("\n")
                self.phases.append(line)
                self._lines.put(line)
        self._lines.put(None)  # the helper ended

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_for(self, timeout: float = PHASE_TIMEOUT) -> str | None:
        """Until the helper pauses: its phase (``PHASE#N``), or None if it ended without pausing.

        Fails only when neither happens within ``timeout`` (generous: a stuck helper).
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"the helper neither paused nor ended in {timeout:.0f} s: {self.phases}") from None
            if line is None:
                return None
            if line.endswith(PAUSED):
                return line.removesuffix(PAUSED).strip()

    def paused(self, timeout: float = PHASE_TIMEOUT) -> str:
        """As :meth:`wait_for`, failing (with the helper's stderr) when it ends without pausing."""
        phase = self.wait_for(timeout)
        if phase is None:
            code, _, err = self.finish()
            raise AssertionError(f"the helper ended (exit {code}) without pausing; phases: {self.phases}\n{err[-3000:]}")
        return phase

    def trace(self, timeout: float = PHASE_TIMEOUT) -> list[str]:
        """Every phase of a run that does not pause, once it ended."""
        assert self.wait_for(timeout) is None, self.phases
        return [p for p in self.phases if not p.endswith(PAUSED)]

    def reached(self, phase: str) -> bool:
        """Whether the helper reported ``phase`` (or paused right after it)."""
        return any(line.split("#")[0] == phase for line in self.phases)

    def go(self) -> None:
        os.write(self._go_w, b"g")

    def finish(self, timeout: float = PHASE_TIMEOUT) -> tuple[int, str, str]:
        """Let it run to the end (or die of a kill); (exit code, stdout, stderr)."""
        if self._go_w >= 0:
            os.close(self._go_w)
            self._go_w = -1
        out, err = self.process.communicate(timeout=timeout)
        self._reader.join(timeout)
        return self.process.returncode, out or "", err or ""

    def kill(self) -> None:
        self.process.kill()

    def signal(self, number: int) -> None:
        self.process.send_signal(number)


def sample(phases: Sequence[str]) -> list[str]:
    """Where to stop a build: for each phase, its first, middle and last occurrence (``PHASE#N``)."""
    counts: dict[str, int] = {}
    for phase in phases:
        counts[phase] = counts.get(phase, 0) + 1
    targets: list[str] = []
    seen: dict[str, int] = {}
    for phase in phases:
        seen[phase] = seen.get(phase, 0) + 1
        if seen[phase] in {1, (counts[phase] + 1) // 2, counts[phase]}:
            targets.append(f"{phase}#{seen[phase]}")
    return targets
