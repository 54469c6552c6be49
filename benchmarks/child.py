"""One child process of a benchmark: its wall time, its own peak memory, what it printed.

Also where the SciFact dataset is by default (``../shared/datasets/scifact`` beside the checkout,
or two levels up from a worktree).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Measured:
    seconds: float  # wall, start to exit
    rss_kb: int  # the child's own peak resident memory (os.wait4's rusage)
    output: str  # its stdout, when asked for; else ""


def measured(command: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
             output: bool = False) -> Measured:
    """Run ``command`` to its end; a failure ends the benchmark with the command, exit code and stderr's tail."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        child = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE if output else subprocess.DEVNULL,
                                 stderr=errors, text=True)
        printed = child.stdout.read() if child.stdout else ""
        _, status, usage = os.wait4(child.pid, 0)  # not communicate(): wait4 gives the child's own rusage
        seconds = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            errors.seek(0)
            tail = errors.read().decode("utf-8", "replace")[-2000:]
            raise SystemExit(f"{' '.join(command)} failed with exit code {code}:\n{tail}")
    return Measured(seconds, usage.ru_maxrss, printed)


def default_scifact() -> Path:
    near = [p / "shared" / "datasets" / "scifact" for p in (ROOT.parent, ROOT.parent.parent)]
    return next((p for p in near if p.is_dir()), near[0])


def spread(values: list[float]) -> dict[str, object]:
    """The median of a benchmark's runs and the runs themselves, rounded for its results JSON."""
    import statistics

    return {"median": round(statistics.median(values), 3), "runs": [round(x, 3) for x in values]}


def publish(report: dict[str, object], out: Path | None) -> None:
    """Print a benchmark's results JSON and write it to ``out`` (if given)."""
    import json

    text = json.dumps(report, indent=2)
    print(text)
    if out is not None:
        out.write_text(text + "\n", encoding="utf-8")
