"""Save-to-fresh-answer time of the terminal app, in a real terminal (tmux), with the real model.

Runs ``notes-qa tui`` over a copy of the bundled notes. For each run it types a
question about a fact the notes do not hold yet, waits for the answer, appends
the fact to a note, and measures from the moment the file is saved until the
fact is shown at rank 1 (nothing is pressed meanwhile). Then it deletes a note
and inserts lines above an answer and opens it with ``o`` (an ``$EDITOR`` that
records its arguments), and prints a screen capture of each step.

    python benchmarks/watch_latency.py [--runs 5] [--out benchmarks/results/watch_latency.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_facts  # noqa: E402

from tests.tui.tmux import TmuxScreen, result_rows  # noqa: E402


def ask(screen: TmuxScreen, question: str, attempts: int = 3) -> str:
    """Type ``question`` in the box and wait for its answer (typing again if the keys were lost)."""
    for attempt in range(1, attempts + 1):
        screen.press("/")  # back to the question box (types a "/" when it has focus, cleared next)
        screen.wait_for(lambda t: "⏎ Search" in t.splitlines()[-1], "the question box focused")
        screen.press("C-u")  # clear it
        screen.wait_for(lambda t: "Ask your notes a question" in t, "an empty question box")
        screen.type(question)
        screen.wait_for(lambda t: question in t.splitlines()[1], "the question typed")
        screen.press("Enter")
        try:
            return screen.wait_for(lambda t: question[:40] in t and 1 in result_rows(t) and "results" in t,
                                   f"answer to {question!r}", timeout=20)
        except AssertionError:
            if attempt == attempts:
                raise
            print(f"(typing {question!r} again: the answer did not come)", flush=True)
    raise AssertionError("unreachable")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="notes-qa-watch-"))
    corpus, index = work / "corpus", work / "index"
    shutil.copytree(ROOT / "corpus", corpus)
    cache = os.environ.get("NOTES_QA_CACHE", str(Path.home() / ".cache" / "notes-qa"))
    env = {"NOTES_QA_CACHE": cache, "HF_HUB_OFFLINE": "1", "TERM": "xterm-256color", "PATH": os.environ["PATH"],
           "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "notes_qa_cli", "index", "--corpus", str(corpus), "--index", str(index)],
                   env={**os.environ, **env}, check=True, capture_output=True)
    editor_log = work / "editor.txt"
    editor = work / "editor.sh"
    editor.write_text(f'#!/bin/sh\nfor a in "$@"; do echo "$a"; done > "{editor_log}"\n')
    editor.chmod(0o755)
    env["EDITOR"] = str(editor)
    screen = TmuxScreen([sys.executable, "-m", "notes_qa_cli", "tui", "--corpus", str(corpus), "--index", str(index)],
                        env=env, width=160, height=40, cwd=str(work))
    captures: dict[str, str] = {}
    seconds: list[float] = []
    try:
        screen.wait_for(lambda t: "Ready:" in t, "the app ready", timeout=300)
        for run in range(1, args.runs + 1):
            fact = f"zorblax quota of account {run} is {run}07 units"
            ask(screen, f"What is the zorblax quota of account {run}?")
            with (corpus / "cache.md").open("a", encoding="utf-8") as note:
                note.write(f"- The {fact}\n")
            saved = time.monotonic()
            screen.wait_for(lambda t, f=fact: f in result_rows(t).get(1, ""), f"run {run}: the new fact")
            seconds.append(time.monotonic() - saved)
            print(f"run {run}: {seconds[-1]:.2f} s from save to the fact at rank 1", flush=True)
        # The preview follows the list a frame later: capture once it shows the new fact too.
        captures["appended fact at rank 1, no key pressed"] = screen.wait_for(
            lambda t, f=fact: f in result_rows(t).get(1, "") and t.count(f) >= 2, "the preview of the new fact")

        ask(screen, "What does AWS DMS do to migrate databases?")
        (corpus / "migration.md").unlink()
        captures["migration.md deleted, no key pressed"] = screen.wait_for(
            lambda t: 1 in result_rows(t) and "migration.md:" not in t and "Index refreshed" not in t, "no migration.md hit")

        before = ask(screen, "How big can a DynamoDB item be?")
        note = corpus / "database.md"
        note.write_text("# Inserted\n\n- one\n- two\n" + note.read_text(encoding="utf-8"), encoding="utf-8")
        first_row = result_rows(before)[1]
        stale = screen.wait_for(lambda t: 1 in result_rows(t) and result_rows(t)[1] != first_row, "the rows changed")
        if "note changed" in stale:
            captures["4 lines inserted at the top of database.md: marked stale"] = stale
        after = screen.wait_for(lambda t: 1 in result_rows(t) and result_rows(t)[1] != first_row
                                and "note changed" not in t and "results" in t, "the rows renumbered")
        captures["4 lines inserted at the top of database.md: asked again by itself"] = after
        screen.wait_for(lambda t: "o Open" in t.splitlines()[-1], "the results list focused (Enter moved there)")
        editor_log.unlink(missing_ok=True)
        screen.press("o")
        deadline = time.monotonic() + 30
        while not editor_log.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        argv = editor_log.read_text().split("\n") if editor_log.exists() else []
        if not argv:
            print("the editor did not run; the screen:\n" + screen.text())
        line = int(argv[0].lstrip("+")) if argv else 0
        opened = note.read_text(encoding="utf-8").split("\n")[line - 1] if line else ""
        shown_row = result_rows(after).get(1, "")
        print(f"o opened {argv[1] if len(argv) > 1 else '?'} at line {line}: {opened!r}; "
              f"that line is shown in result 1: {opened.strip() in shown_row}")
    finally:
        screen.close()
        shutil.rmtree(work, ignore_errors=True)
    for title, text in captures.items():
        print(f"\n--- {title} ---\n{text.rstrip()}")
    summary = {"runs": seconds, "median_s": round(statistics.median(seconds), 3), "machine": machine_facts()}
    print(f"\nsave to fresh answer: median {summary['median_s']:.2f} s over {len(seconds)} runs "
          f"(min {min(seconds):.2f}, max {max(seconds):.2f})")
    if args.out:
        args.out.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
