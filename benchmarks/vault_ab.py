"""Time several checkouts of notes-qa on one built vault, alternating: cold ``ask``, ``index`` with
nothing changed, warm questions of one ``ask --batch``.

Usage: python benchmarks/vault_ab.py --work DIR --code OLD_CHECKOUT --code . [--rounds 3]
       [--queries 300] [--dataset ../shared/datasets/scifact] [--out FILE]

``--work`` is a ``vault_scale.py --work`` folder (its ``vault/`` and built ``index/``); each
``--code`` a checkout with its own ``.venv`` (the index must be one every checkout can read).
Each round runs every checkout once, in turn, the order reversed every other round; each measure
is a new process (``benchmarks/child.py``). Warm: the median of the ``seconds`` of each answer of
one ``ask --batch`` over the first ``--queries`` SciFact queries (first answer left out).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from child import default_scifact, measured, publish, spread  # noqa: E402
from machine import machine_facts  # noqa: E402

QUESTION = "What causes cancer cells to spread?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--code", type=Path, action="append", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--dataset", type=Path, default=default_scifact())
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    env = dict(os.environ, NOTES_QA_CORPUS=str(args.work / "vault"), NOTES_QA_INDEX=str(args.work / "index"),
               HF_HUB_OFFLINE="1")
    with (args.dataset / "queries.jsonl").open(encoding="utf-8") as handle:
        queries = [json.loads(line)["text"] for line in handle if line.strip()][: args.queries]
    codes = [path.resolve() for path in args.code]
    results: dict[str, dict[str, list[float]]] = {str(c): {"cold_ask_s": [], "no_change_index_s": [], "warm_p50_ms": []}
                                                  for c in codes}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        batch = Path(tmp) / "queries.txt"
        batch.write_text("\n".join(queries) + "\n", encoding="utf-8")
        for round_no in range(args.rounds):
            for code in codes if round_no % 2 == 0 else codes[::-1]:
                python = str(code / ".venv" / "bin" / "python")

                def run(*cli: str, code: Path = code, python: str = python) -> tuple[float, str]:
                    done = measured([python, "-m", "notes_qa_cli", *cli], env=env, cwd=code, output=True)
                    return done.seconds, done.output

                row = results[str(code)]
                row["cold_ask_s"].append(run("ask", "--json", "-k", "5", QUESTION)[0])
                row["no_change_index_s"].append(run("index")[0])
                out = run("ask", "--json", "-k", "5", "--no-build", "--batch", str(batch))[1]
                warm = [json.loads(line)["seconds"] * 1000 for line in out.splitlines()[1:] if line.strip()]
                row["warm_p50_ms"].append(statistics.median(warm))
            print(f"round {round_no + 1}: " + "; ".join(
                f"{Path(c).name}: " + ", ".join(f"{k} {v[-1]:.3f}" for k, v in r.items()) for c, r in results.items()),
                flush=True)
    report = {
        "benchmark": "vault_ab",
        "command": "python benchmarks/vault_ab.py " + " ".join(sys.argv[1:]),
        "machine": machine_facts(),
        "load_average_before_after": [load_before, os.getloadavg()],
        "results": {c: {k: spread(v) for k, v in r.items()} for c, r in results.items()},
    }
    publish(report, args.out)


if __name__ == "__main__":
    main()
