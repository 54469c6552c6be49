"""Per-call latency of ``search_notes`` through the MCP stdio server, against the in-process warm search.

Usage: python benchmarks/bench_mcp.py [--code DIR ...] [--calls 200] [--block 20] [--rounds 4] [--out FILE]
(default FILE: benchmarks/results/mcp.json; default DIR: this checkout)

Each of --rounds starts new servers and does all of the below; the table shows the median over rounds.

- builds an index of a copy of corpus/ (NOTES_QA_CACHE reused if set, for the ONNX export);
- starts `notes-qa mcp` as a subprocess for each --code DIR (the server's code: give two checkouts,
  e.g. `--code ../main --code .`, to compare them in one run) and talks to each with the SDK's own
  stdio client (mcp.client.stdio + ClientSession), as an editor or assistant would;
- starts the floor server too (`mcp_floor_server.py`: the same tools, SDK server and transport as this
  checkout, answering every call with one canned answer of the same size, no engine): what the SDK
  client, the pipes and the SDK server cost by themselves;
- times --calls `search_notes` calls on each (k=5, hybrid; the questions of eval/questions.jsonl in
  order), from sending the request to the parsed, schema-checked result, and --calls in-process
  `Searcher.search` calls on the same questions in this process, twice: as `ask` runs it (onnxruntime
  threads spin-wait between runs, its default) and as the server runs it (they sleep: `spin=False`);
  all of them take turns in blocks of --block, in a shuffled order per block (seeded), so the VM's
  drift hits all alike and none always follows another; after the spinning searcher's block the
  benchmark pauses 50 ms, so its threads stop spinning before the next block; the order in which the
  servers are started rotates from round to round;
- reports p50/p95/p99 of each and each server's p50 minus the in-process p50s;
- CPU time per call, which this shared VM's load inflates far less than wall time: each server's
  (user + system, all threads, from /proc), the client's (this process, during that server's blocks)
  and the in-process search's (this process, during the no-spin blocks);
- also: a `ping` round trip per server, each server's RSS before and after, and a transcript
  (the tool list and one search result of the last --code) in the JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_query import percentiles  # noqa: E402
from machine import machine_facts  # noqa: E402

QUESTION = "How big can a DynamoDB item be?"
FLOOR = "floor"
SPIN, NO_SPIN = "in_process", "in_process_no_spin"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, all its threads (dead ones too)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_pids() -> set[int]:
    """The child processes of this benchmark: the servers the stdio clients started."""
    me, found = os.getpid(), set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == me:
                    found.add(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def code_label(code: Path) -> str:
    """The checkout's folder name and commit, e.g. main@daea645."""
    commit = subprocess.run(["git", "-C", str(code), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return f"{code.name}@{commit.stdout.strip() or '?'}"


async def run(args: argparse.Namespace, env: dict[str, str], questions: list[str], round_no: int,
              floor_answer: Path) -> dict[str, Any]:
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    from indexer.service import open_searcher
    from indexer.settings import Settings

    searchers = {NO_SPIN: open_searcher(Settings.from_env(env), auto_build=False, spin=False).searcher,
                 SPIN: open_searcher(Settings.from_env(env), auto_build=False).searcher}
    servers: dict[str, StdioServerParameters] = {
        code_label(code): StdioServerParameters(command=sys.executable, args=["-m", "notes_qa_cli", "mcp"],
                                                env={**env, "PYTHONPATH": str(code)}, cwd=str(code))
        for code in args.code
    }
    if floor_answer.exists():
        servers[FLOOR] = StdioServerParameters(
            command=sys.executable, args=[str(ROOT / "benchmarks" / "mcp_floor_server.py"), str(floor_answer)],
            env=env, cwd=str(ROOT))
    names = list(servers)
    start_order = names[round_no % len(names):] + names[:round_no % len(names)]
    results: dict[str, Any] = {"start_order": start_order}
    sessions: dict[str, Any] = {}
    pids: dict[str, int] = {}
    with open(os.devnull, "w") as quiet:
        async with contextlib.AsyncExitStack() as stack:
            for name in start_order:
                before = child_pids()
                read, write = await stack.enter_async_context(stdio_client(servers[name], errlog=quiet))
                session = await stack.enter_async_context(ClientSession(read, write))
                started = time.perf_counter()
                await session.initialize()
                results.setdefault("initialize_s", {})[name] = round(time.perf_counter() - started, 3)
                (pids[name],) = child_pids() - before
                sessions[name] = session
            last = code_label(args.code[-1])
            tools = await sessions[last].list_tools()
            first = await sessions[last].call_tool("search_notes", {"query": QUESTION, "k": 3})
            results["transcript"] = {
                "tools": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools.tools],
                "search_notes": {"arguments": {"query": QUESTION, "k": 3},
                                 "structuredContent": first.structured_content, "isError": first.is_error},
            }
            if FLOOR not in sessions:  # the floor's canned answer: a real k=5 answer, as the server sent it
                canned = await sessions[last].call_tool("search_notes", {"query": QUESTION, "k": 5})
                floor_answer.write_text(json.dumps(canned.structured_content), encoding="utf-8")
            for q in questions[:20]:  # warm every path, untimed
                for session in sessions.values():
                    await session.list_tools()
                    await session.call_tool("search_notes", {"query": q})
                for searcher in searchers.values():
                    searcher.search(q, k=5)
            rss_before = {name: rss_mb(pid) for name, pid in pids.items()}
            timed: dict[str, list[float]] = {name: [] for name in [*sessions, NO_SPIN, SPIN]}
            cpu: dict[str, dict[str, float]] = {name: {"server": 0.0, "client": 0.0} for name in sessions}
            cpu[NO_SPIN] = {"in_process": 0.0}
            shuffle = random.Random(round_no)
            for start in range(0, args.calls, args.block):
                part = [questions[i % len(questions)] for i in range(start, min(start + args.block, args.calls))]
                order = list(timed)
                shuffle.shuffle(order)
                for name in order:
                    client_cpu = time.process_time()
                    if name in sessions:
                        server_cpu = cpu_seconds(pids[name])
                        for q in part:
                            t = time.perf_counter()
                            result = await sessions[name].call_tool("search_notes", {"query": q, "k": 5})
                            timed[name].append((time.perf_counter() - t) * 1000)
                            assert not result.is_error, result.content
                        cpu[name]["server"] += cpu_seconds(pids[name]) - server_cpu
                        cpu[name]["client"] += time.process_time() - client_cpu
                    else:
                        for q in part:
                            t = time.perf_counter()
                            searchers[name].search(q, k=5)
                            timed[name].append((time.perf_counter() - t) * 1000)
                        if name == NO_SPIN:
                            cpu[name]["in_process"] += time.process_time() - client_cpu
                        else:
                            time.sleep(0.05)  # let the spinning threads go to sleep before the next block
            ping: dict[str, list[float]] = {name: [] for name in sessions}
            for _ in range(args.block):
                for name, session in sessions.items():
                    t = time.perf_counter()
                    await session.send_ping()
                    ping[name].append((time.perf_counter() - t) * 1000)
            results["rss_mb"] = {name: {"after_warm_up": round(rss_before[name], 1), "after_calls": round(rss_mb(pid), 1)}
                                 for name, pid in pids.items()}
    results["cpu_ms_per_call"] = {name: {k: round(v * 1000 / args.calls, 3) for k, v in c.items()}
                                  for name, c in cpu.items()}
    results["search_ms"] = {name: {k: round(v, 3) for k, v in percentiles(values).items()} for name, values in timed.items()}
    results["ping_ms"] = {name: {k: round(v, 3) for k, v in percentiles(values).items()} for name, values in ping.items()}
    p50 = {name: results["search_ms"][name]["p50"] for name in timed}
    results["p50_difference_ms"] = {name: {"vs_in_process": round(p50[name] - p50[SPIN], 3),
                                           "vs_in_process_no_spin": round(p50[name] - p50[NO_SPIN], 3)}
                                    for name in sessions if name != FLOOR}
    return results


def median_tree(rounds: list[Any]) -> Any:
    """The per-leaf median of several results of the same shape (counts and labels as in the first)."""
    first = rounds[0]
    if isinstance(first, dict):
        return {k: median_tree([r[k] for r in rounds]) for k in first if all(k in r for r in rounds)}
    if isinstance(first, float):
        return round(statistics.median(rounds), 3)
    return first


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, action="append",
                        help="a checkout whose `notes-qa mcp` to time (repeat to compare; default: this one)")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--block", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "mcp.json")
    args = parser.parse_args()
    args.code = [c.resolve() for c in (args.code or [ROOT])]

    import anyio

    from indexer.evaluate.questions import load_questions

    work = Path(tempfile.mkdtemp(prefix="notes-qa-bench-mcp-"))
    shutil.copytree(ROOT / "corpus", work / "corpus")
    env = dict(os.environ, NOTES_QA_CORPUS=str(work / "corpus"), NOTES_QA_INDEX=str(work / "index"),
               NOTES_QA_CACHE=os.environ.get("NOTES_QA_CACHE") or str(work / "cache"), HF_HUB_OFFLINE="1")
    subprocess.run([sys.executable, "-m", "notes_qa_cli", "index"], env=env, check=True, capture_output=True, cwd=ROOT)
    questions = [q.question for q in load_questions(ROOT / "eval" / "questions.jsonl")]
    load_before = os.getloadavg()
    # Round 0 also records the floor's canned answer (so the floor joins from round 1): one extra round.
    rounds = [anyio.run(run, args, env, questions, i, work / "floor-answer.json") for i in range(args.rounds + 1)][1:]
    results: dict[str, Any] = {"machine": machine_facts(), "load_average_before": load_before,
                               "calls": args.calls, "block": args.block, "transcript": rounds[0].pop("transcript")}
    for r in rounds[1:]:
        r.pop("transcript")
    results["median"] = median_tree([{k: v for k, v in r.items() if k not in ("start_order", "initialize_s")}
                                     for r in rounds])
    results["rounds"] = rounds
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")

    m = results["median"]
    print(f"| measure ({args.calls} calls each, shuffled blocks of {args.block}; median of {args.rounds} rounds) "
          "| p50 | p95 | p99 | CPU ms/call (server + client) |\n|---|---|---|---|---|")
    for name, q in m["search_ms"].items():
        c = m["cpu_ms_per_call"].get(name, {})
        cost = (f"{c['server']:.2f} + {c['client']:.2f}" if "server" in c else
                f"{c['in_process']:.2f}" if "in_process" in c else "")
        print(f"| {name} | {q['p50']:.2f} | {q['p95']:.2f} | {q['p99']:.2f} ms | {cost} |")
    for name in m["ping_ms"]:
        d = m["p50_difference_ms"].get(name, {"vs_in_process": float("nan"), "vs_in_process_no_spin": float("nan")})
        per_round = ", ".join(f"{r['p50_difference_ms'].get(name, d)['vs_in_process_no_spin']:+.2f}" for r in rounds)
        print(f"{name}: p50 {d['vs_in_process']:+.2f} ms vs in-process (as ask), {d['vs_in_process_no_spin']:+.2f} ms vs "
              f"no-spin (rounds {per_round}); ping p50 {m['ping_ms'][name]['p50']:.2f} ms; RSS "
              f"{m['rss_mb'][name]['after_warm_up']} -> {m['rss_mb'][name]['after_calls']} MB")
    print(f"load average before {tuple(round(x, 2) for x in load_before)}, after "
          f"{tuple(round(x, 2) for x in results['machine']['load_average'])}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
