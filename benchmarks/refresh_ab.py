"""A one-note edit then ``notes-qa index``, several checkouts alternating on one built index.

Usage: python benchmarks/refresh_ab.py --notes DIR --index DIR --code OLD_CHECKOUT --code . [--rounds 5]
       [--work DIR] [--out FILE] [--cold]

Each ``--code`` gets its own hard-linked copy of ``--index`` (under ``--work``), so every checkout
refreshes its own builds; the notes folder is shared. Round 0 is a warm-up, not counted: a
checkout's first refresh writes what its later ones reuse (e.g. the BM25 terms). Every round appends
a sentence to one more note (the notes change: use a copy you can spare), then times ``index`` with
each checkout in turn, the order reversed every other round, each in a new process
(``benchmarks/child.py``). ``--cold`` empties the page cache before each refresh (Linux, as root:
``sync`` then ``/proc/sys/vm/drop_caches``), as after a reboot or when the notes were pushed out
of memory: every note and index file a refresh reads then comes from the disk.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from child import measured, publish, spread  # noqa: E402
from machine import machine_facts  # noqa: E402


def drop_page_cache() -> None:
    """Write dirty pages out, then drop the clean ones (needs root)."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError as exc:
        raise SystemExit(f"--cold: cannot drop the page cache ({exc.strerror}); run as root on Linux") from exc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notes", type=Path, required=True)
    parser.add_argument("--index", type=Path, required=True, help="a built index of --notes (copied, not changed)")
    parser.add_argument("--code", type=Path, action="append", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--work", type=Path, default=None, help="where the copies go (default: a temporary folder)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--cold", action="store_true", help="empty the page cache before each refresh (root)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="refresh-ab-"))
    work.mkdir(parents=True, exist_ok=True)
    codes = [path.resolve() for path in args.code]
    indexes = {}
    for number, code in enumerate(codes):
        copy = work / f"index-{number}"
        shutil.rmtree(copy, ignore_errors=True)
        subprocess.run(["cp", "-al", str(args.index), str(copy)], check=True)  # hard links: instant, no space
        (copy / ".lock").unlink(missing_ok=True)  # a linked lock file is refused (it is shared with --index)
        indexes[code] = copy
    notes = sorted(p for p in args.notes.rglob("*.md"))
    seconds: dict[str, list[float]] = {str(c): [] for c in codes}
    load_before = os.getloadavg()
    for round_no in range(args.rounds + 1):
        with notes[(100 + round_no) % len(notes)].open("a", encoding="utf-8") as handle:
            handle.write(f" Edited in round {round_no}.\n")
        for code in codes if round_no % 2 == 0 else codes[::-1]:
            env = dict(os.environ, NOTES_QA_CORPUS=str(args.notes), NOTES_QA_INDEX=str(indexes[code]),
                       HF_HUB_OFFLINE="1")
            if args.cold:
                drop_page_cache()
            done = measured([str(code / ".venv" / "bin" / "python"), "-m", "notes_qa_cli", "index"], env=env, cwd=code,
                            output=True)
            if round_no:
                seconds[str(code)].append(done.seconds)
            print(f"round {round_no}{' (warm-up)' if not round_no else ''}: {code.name} {done.seconds:.2f} s: "
                  f"{done.output.strip()}", flush=True)
    report = {
        "benchmark": "refresh_ab",
        "command": "python benchmarks/refresh_ab.py " + " ".join(sys.argv[1:]),
        "machine": machine_facts(),
        "load_average_before_after": [load_before, os.getloadavg()],
        "page_cache": "dropped before each refresh" if args.cold else "as it was (warm after round 0)",
        "results": {c: spread(v) for c, v in seconds.items()},
    }
    if len(codes) == 2:  # the machine's speed drifts within a run: each round's two times, compared
        first, last = (seconds[str(c)] for c in codes)
        report["last_over_first_per_round"] = spread([b / a for a, b in zip(first, last)])
    publish(report, args.out)


if __name__ == "__main__":
    main()
