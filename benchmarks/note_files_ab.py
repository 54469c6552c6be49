"""Cold ``ask`` and a no-change ``index`` on one vault: an older checkout on its manifest with every
note's record inline, this checkout on the same index and on a copy with the note files.

Usage: python benchmarks/note_files_ab.py --work DIR --code OLD_CHECKOUT [--rounds 5] [--out FILE]

``--work`` is a ``vault_scale.py --work`` folder (its ``vault/`` and an ``index/`` built by a checkout
that writes the records inline, e.g. ``8e5caf1``); ``--code`` that older checkout (its own
``.venv``). The copy (``DIR/index-note-files``, hard links but for the rewritten manifest and the
three new files) gets what a build of this checkout writes: ``notes.json``, ``notes.stat.npy``,
``notes.sha256.npy`` and a manifest without the records. The three set-ups take turns, the order
reversed every other round, each measure a new process (``benchmarks/child.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from child import measured, publish, spread  # noqa: E402
from machine import machine_facts  # noqa: E402

QUESTION = "What causes cancer cells to spread?"


def with_note_files(index: Path, copy: Path) -> None:
    """``copy``: ``index`` hard-linked, its live build's manifest rewritten as this checkout writes it."""
    from indexer.disk import Disk
    from indexer.fileio import sha256_file
    from indexer.index_files import current_build
    from indexer.manifest import read_manifest
    from indexer.note_table import NOTE_FILES, write_note_files

    shutil.rmtree(copy, ignore_errors=True)
    subprocess.run(["cp", "-al", str(index), str(copy)], check=True)
    (copy / ".lock").unlink(missing_ok=True)  # a linked lock file is refused (it is shared with the original)
    folder = current_build(copy)
    assert folder is not None, f"no build in {copy}"
    raw = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert "files" in raw["corpus"], "the index already has note files: build it with the older checkout"
    notes = read_manifest(folder).notes
    write_note_files(folder, notes, Disk())
    raw["corpus"] = {"path": raw["corpus"]["path"], "notes": len(notes)}
    for name in NOTE_FILES:
        raw["files"][name] = sha256_file(folder / name)
        raw["file_sizes"][name] = (folder / name).stat().st_size
    (folder / "manifest.json").unlink()  # a new file: the original's hard link stays as it was
    (folder / "manifest.json").write_text(json.dumps(raw, ensure_ascii=False, indent=1), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--code", type=Path, required=True, help="a checkout that writes the records inline")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    work = args.work.resolve()
    copy = work / "index-note-files"
    with_note_files(work / "index", copy)
    setups = {"older checkout, records inline": (args.code.resolve(), work / "index"),
              "this checkout, records inline": (ROOT, work / "index"),
              "this checkout, note files": (ROOT, copy)}
    times: dict[str, dict[str, list[float]]] = {name: {"cold_ask": [], "no_change_index": [], "ask_peak_rss_mb": []}
                                                 for name in setups}
    load_before = os.getloadavg()
    for round_no in range(args.rounds):
        for name in list(setups) if round_no % 2 == 0 else list(setups)[::-1]:
            code, index = setups[name]
            env = dict(os.environ, NOTES_QA_CORPUS=str(work / "vault"), NOTES_QA_INDEX=str(index), HF_HUB_OFFLINE="1")
            python = str(code / ".venv" / "bin" / "python")
            ask = measured([python, "-m", "notes_qa_cli", "ask", QUESTION, "--json", "-k", "5"], env=env, cwd=code)
            index_run = measured([python, "-m", "notes_qa_cli", "index"], env=env, cwd=code, output=True)
            assert "up to date" in index_run.output, index_run.output
            times[name]["cold_ask"].append(ask.seconds)
            times[name]["no_change_index"].append(index_run.seconds)
            times[name]["ask_peak_rss_mb"].append(ask.rss_kb / 1024)
            print(f"round {round_no}: {name}: ask {ask.seconds:.2f} s, index {index_run.seconds:.2f} s", flush=True)
    publish({
        "benchmark": "note_files_ab",
        "command": "python benchmarks/note_files_ab.py " + " ".join(sys.argv[1:]),
        "machine": machine_facts(),
        "load_average_before_after": [load_before, os.getloadavg()],
        "results": {name: {what: spread(v) for what, v in t.items()} for name, t in times.items()},
    }, args.out)


if __name__ == "__main__":
    main()
