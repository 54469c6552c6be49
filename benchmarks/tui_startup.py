"""Time to first paint and to first answer of ``notes-qa tui``, measured in a real terminal (tmux).

Not a test (pytest does not collect it). Run from the repo root, with an index already built:

    .venv/bin/python benchmarks/tui_startup.py [--runs 7] [--index index] [--corpus corpus]

Each run starts ``notes-qa tui`` in a fresh 100x30 tmux pane, polls ``capture-pane``
every 10 ms until the question box is on screen (first paint), types the question
at once, presses Enter and polls until the answer line is on screen (first answer:
the question waits in the app while the model and index load). A second question
in the same run gives the latency of a warm search. Prints the medians and the
last screen.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_facts  # noqa: E402

QUESTION = "How big can a DynamoDB item be?"
ANSWER = "Maximum size of an item is 400KB"
SECOND = ("Which cache engine supports multi-threading?", "Cache > ElastiCache")
PAINTED = "Ask your notes a question"


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


def screen(target: str) -> str:
    return tmux("capture-pane", "-p", "-t", target)


def wait_for(target: str, text: str, started: float, timeout: float = 120.0) -> float:
    while time.perf_counter() - started < timeout:
        if text in screen(target):
            return time.perf_counter() - started
        time.sleep(0.01)
    raise SystemExit(f"timed out waiting for {text!r}; screen:\n{screen(target)}")


def paint_only(command: str) -> float:
    session = "nqa-measure"
    subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", "sleep 3600")
    started = time.perf_counter()
    tmux("respawn-pane", "-k", "-t", f"{session}:0", command)
    paint = wait_for(f"{session}:0", PAINTED, started)
    subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    return paint


def one_run(command: str) -> tuple[float, float, float, str]:
    session = "nqa-measure"
    subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", "sleep 3600")
    target = f"{session}:0"
    started = time.perf_counter()
    tmux("respawn-pane", "-k", "-t", target, command)
    paint = wait_for(target, PAINTED, started)
    tmux("send-keys", "-t", target, "-l", QUESTION)
    tmux("send-keys", "-t", target, "Enter")
    answer = wait_for(target, ANSWER, started)
    # Focus moves after the keys already queued, so wait for each move (the footer tells where it is).
    wait_for(target, "o Open", time.perf_counter())  # Enter moved on to the results
    tmux("send-keys", "-t", target, "/")  # back to the box, its text selected
    wait_for(target, "⏎ Search", time.perf_counter())
    tmux("send-keys", "-t", target, "-l", SECOND[0])
    asked = time.perf_counter()
    tmux("send-keys", "-t", target, "Enter")
    warm = wait_for(target, SECOND[1], asked)
    wait_for(target, "o Open", time.perf_counter())  # the frame after: preview and focus updated
    shown = screen(target)
    subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    return paint, answer, warm, shown


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--index", default="index")
    parser.add_argument("--corpus", default="corpus")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "tui_startup.json")
    parser.add_argument("--show", action="store_true", help="print the screen of the last run")
    parser.add_argument("--baseline", action="store_true",
                        help="also time the paint of a bare Textual app (one Static), the floor on this machine")
    args = parser.parse_args()
    exe = Path(sys.executable).with_name("notes-qa")
    command = f"cd {shlex.quote(str(Path.cwd()))} && {shlex.quote(str(exe))} tui --index {shlex.quote(args.index)} " \
              f"--corpus {shlex.quote(args.corpus)}"
    runs = [one_run(command) for _ in range(args.runs)]
    results: dict[str, object] = {"machine": machine_facts(), "runs": args.runs, "question": QUESTION}
    for name, values in zip(("first paint", "first answer", "warm answer"), zip(*(r[:3] for r in runs))):
        print(f"{name:13} median {statistics.median(values):.3f} s  (min {min(values):.3f}, max {max(values):.3f})")
        results[name.replace(" ", "_") + "_s"] = {"median": round(statistics.median(values), 3),
                                                  "runs": [round(v, 3) for v in values]}
    if args.baseline:
        bare = (f"{shlex.quote(sys.executable)} -c 'from textual.app import App; from textual.widgets import Static\n"
                f"class A(App):\n    def compose(self):\n        yield Static(\"{PAINTED}\")\nA().run()'")
        values = [paint_only(bare) for _ in range(args.runs)]
        print(f"bare Textual  median {statistics.median(values):.3f} s  (min {min(values):.3f}, max {max(values):.3f})")
        results["bare_textual_paint_s"] = {"median": round(statistics.median(values), 3),
                                           "runs": [round(v, 3) for v in values]}
    results["screen_after_second_question"] = runs[-1][3]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    if args.show:
        print(runs[-1][3])
    return 0


if __name__ == "__main__":
    sys.exit(main())
