"""Cold ``ask``: a new process to the printed answer, two notes-qa installs alternating on the same index.

Usage: python benchmarks/cold_ask.py --before "/work/main/.venv/bin/python -m notes_qa_cli" \\
           --after ".venv/bin/notes-qa" [--runs 9] [--scifact 1500] [--out benchmarks/results/cold_ask.json]

Two installs start at different speeds (a worktree's venv layered on another one imports ~0.1 s
slower); to compare the code alone, give both the same interpreter and pick the code by the
folder ``python -m`` runs in: ``--before "PY -m notes_qa_cli" --before-cwd /work/main
--after "PY -m notes_qa_cli" --after-cwd .`` (``-m`` imports from the current folder first).

Each corpus is indexed once (by ``--after``); then every run times ``ask --no-build`` (load and
answer) and plain ``ask`` (which also checks the notes are fresh) of the same question with the
before and the after command in turn (alternating, so both see the same machine load), from
spawning the process to its exit, and reports the medians (wall and CPU) and their ratios.
Corpora: the bundled ``corpus/`` and, with ``--scifact N``, the first N SciFact abstracts
written as notes (``# title`` + text, as ``scifact_as_notes.py`` writes them). The notes are
dated an hour back before indexing: notes are older than the build that indexes them, and a
note as new as the build gets no stat in the manifest (racily clean) and is hashed by every ask.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "how durable is S3"


def write_scifact(dataset: Path, folder: Path, limit: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (dataset / "corpus.jsonl").open(encoding="utf-8") as handle:
        for count, line in enumerate(handle):
            if count >= limit:
                break
            doc = json.loads(line)
            title = " ".join(str(doc.get("title") or "").split()) or str(doc["_id"])
            text = str(doc.get("text") or "").strip()
            (folder / f"{doc['_id']}.md").write_text(f"# {title}\n\n{text}\n", encoding="utf-8")
    back = time.time() - 3600
    for path in folder.iterdir():
        os.utime(path, (back, back))


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds from spawning ``command`` to its exit, and the CPU seconds (user + system) it used.

    ``python -m`` imports from ``cwd`` first. CPU time is less swayed than wall time by other
    processes on a shared machine (it still counts the encoder threads' spinning).
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", required=True, help="command line of the notes-qa to compare against")
    parser.add_argument("--after", required=True, help="command line of the notes-qa measured")
    parser.add_argument("--before-cwd", type=Path, default=None,
                        help="run --before here (default --work); `python -m` imports the code found here first")
    parser.add_argument("--after-cwd", type=Path, default=None, help="run --after here (default --work)")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--scifact", type=int, default=0, metavar="N", help="also the first N SciFact notes")
    parser.add_argument("--dataset", type=Path, default=ROOT.parent.parent / "shared" / "datasets" / "scifact")
    parser.add_argument("--work", type=Path, default=Path("/tmp/cold-ask"), help="notes and indexes (kept)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    before_cwd, after_cwd = args.before_cwd or args.work, args.after_cwd or args.work
    before, after = shlex.split(args.before), shlex.split(args.after)
    corpora = {"bundled": (ROOT / "corpus", args.work / "bundled-index")}
    if args.scifact:
        notes = args.work / f"scifact-{args.scifact}"
        if not notes.is_dir():
            write_scifact(args.dataset, notes, args.scifact)
        corpora[f"scifact-{args.scifact}"] = (notes, args.work / f"scifact-{args.scifact}-index")
    results = {}
    for name, (notes, index) in corpora.items():
        where = ["--corpus", str(notes), "--index", str(index)]
        subprocess.run([*after, "index", *where], check=True, stdout=subprocess.DEVNULL, cwd=after_cwd)
        results[name] = {"notes": sum(1 for _ in notes.rglob("*.md")), "runs": args.runs}
        # --no-build: load and answer; default: also the freshness check of the notes (index_status)
        for mode, extra in (("no-build", ["--no-build"]), ("default", [])):
            ask = ["ask", *extra, *where, QUESTION]
            timed([*before, *ask], before_cwd), timed([*after, *ask], after_cwd)  # warm the page cache for both
            wall: dict[str, list[float]] = {"before": [], "after": []}
            cpu: dict[str, list[float]] = {"before": [], "after": []}
            for _ in range(args.runs):
                for side, command, cwd in (("before", before, before_cwd), ("after", after, after_cwd)):
                    w, c = timed([*command, *ask], cwd)
                    wall[side].append(w)
                    cpu[side].append(c)
            medians = {k: statistics.median(v) for k, v in wall.items()}
            cpu_medians = {k: statistics.median(v) for k, v in cpu.items()}
            results[name][mode] = {
                "median_wall_s": {k: round(v, 3) for k, v in medians.items()},
                "after_over_before": round(medians["after"] / medians["before"], 3),
                "median_cpu_s": {k: round(v, 3) for k, v in cpu_medians.items()},
                "cpu_after_over_before": round(cpu_medians["after"] / cpu_medians["before"], 3),
                "all_wall_s": {k: [round(x, 3) for x in v] for k, v in wall.items()},
            }
            row = results[name][mode]
            print(name, mode, "wall", json.dumps(row["median_wall_s"]), row["after_over_before"],
                  "cpu", json.dumps(row["median_cpu_s"]), row["cpu_after_over_before"], flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
