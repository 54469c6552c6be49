"""Per-call latency of ``search_notes`` through the MCP stdio server, against the in-process warm search.

Usage: python benchmarks/bench_mcp.py [--calls 200] [--block 20] [--rounds 3] [--out FILE]
(default FILE: benchmarks/results/mcp.json)

Each of --rounds starts a new server and does all of the below; the table shows the median over rounds.

- builds an index of a copy of corpus/ (NOTES_QA_CACHE reused if set, for the ONNX export);
- starts `notes-qa mcp` as a subprocess and talks to it with the SDK's own stdio client
  (mcp.client.stdio + ClientSession), as an editor or assistant would;
- times --calls `search_notes` calls (k=5, hybrid; the questions of eval/questions.jsonl in order), from
  sending the request to the parsed, schema-checked result, and --calls in-process `Searcher.search`
  calls on the same questions in this process, twice: as `ask` runs it (onnxruntime threads spin-wait
  between runs, its default) and as the server runs it (they sleep: `spin=False`); the three alternate in
  blocks of --block so the VM's drift hits all alike; reports p50/p95/p99 of each and the differences;
- CPU time per call, which this shared VM's load inflates far less than wall time: the server's
  (user + system, all threads, from /proc), the client's (this process, during the MCP blocks) and the
  in-process search's (this process, during the no-spin blocks); their difference is what the protocol
  costs in work;
- also: a `ping` round trip (the protocol's floor), the server's RSS before and after, and a transcript
  (the tool list and one search result) in the JSON.
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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_query import percentiles  # noqa: E402
from machine import machine_facts  # noqa: E402

QUESTION = "How big can a DynamoDB item be?"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, all its threads (dead ones too)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pid() -> int:
    """The one child process of this benchmark: the server the stdio client started."""
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == me:
                return int(entry.name)
    raise SystemExit("cannot find the server process")


async def run(args: argparse.Namespace, env: dict[str, str], questions: list[str]) -> dict[str, Any]:
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    from indexer.service import open_searcher
    from indexer.settings import Settings

    # In each block: MCP, then in-process as the server runs it, then as ask runs it. The spinning threads
    # of the last slow down the start of the next MCP block a little (if anything, against the server).
    searchers = {"in_process_no_spin_search_ms": open_searcher(Settings.from_env(env), auto_build=False, spin=False).searcher,
                 "in_process_search_ms": open_searcher(Settings.from_env(env), auto_build=False).searcher}
    params = StdioServerParameters(command=sys.executable, args=["-m", "notes_qa_cli", "mcp"], env=env)
    results: dict[str, Any] = {}
    with open(os.devnull, "w") as quiet:
        async with stdio_client(params, errlog=quiet) as (read, write), ClientSession(read, write) as session:
            started = time.perf_counter()
            await session.initialize()
            results["initialize_s"] = round(time.perf_counter() - started, 3)
            pid = server_pid()
            tools = await session.list_tools()
            first = await session.call_tool("search_notes", {"query": QUESTION, "k": 3})
            results["transcript"] = {
                "tools": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools.tools],
                "search_notes": {"arguments": {"query": QUESTION, "k": 3},
                                 "structuredContent": first.structured_content, "isError": first.is_error},
            }
            for q in questions[:20]:  # warm every path, untimed
                await session.call_tool("search_notes", {"query": q})
                for searcher in searchers.values():
                    searcher.search(q, k=5)
            rss_before = rss_mb(pid)
            mcp_ms: list[float] = []
            local_ms: dict[str, list[float]] = {name: [] for name in searchers}
            cpu = {"server": 0.0, "client": 0.0, "in_process_no_spin": 0.0}
            for start in range(0, args.calls, args.block):
                part = [questions[i % len(questions)] for i in range(start, min(start + args.block, args.calls))]
                server_cpu, client_cpu = cpu_seconds(pid), time.process_time()
                for q in part:
                    t = time.perf_counter()
                    result = await session.call_tool("search_notes", {"query": q, "k": 5})
                    mcp_ms.append((time.perf_counter() - t) * 1000)
                    assert not result.is_error, result.content
                cpu["server"] += cpu_seconds(pid) - server_cpu
                cpu["client"] += time.process_time() - client_cpu
                for name, searcher in searchers.items():
                    local_cpu = time.process_time()
                    for q in part:
                        t = time.perf_counter()
                        searcher.search(q, k=5)
                        local_ms[name].append((time.perf_counter() - t) * 1000)
                    if name == "in_process_no_spin_search_ms":
                        cpu["in_process_no_spin"] += time.process_time() - local_cpu
            ping_ms = []
            for _ in range(args.block):
                t = time.perf_counter()
                await session.send_ping()
                ping_ms.append((time.perf_counter() - t) * 1000)
            results["cpu_ms_per_call"] = {k: round(v * 1000 / args.calls, 3) for k, v in cpu.items()}
            results["rss_mb"] = {"after_warm_up": round(rss_before, 1), "after_calls": round(rss_mb(pid), 1)}
    results["mcp_search_ms"] = {k: round(v, 3) for k, v in percentiles(mcp_ms).items()}
    for name, values in local_ms.items():
        results[name] = {k: round(v, 3) for k, v in percentiles(values).items()}
    results["ping_ms"] = {k: round(v, 3) for k, v in percentiles(ping_ms).items()}
    results["p50_difference_ms"] = {
        "vs_in_process": round(results["mcp_search_ms"]["p50"] - results["in_process_search_ms"]["p50"], 3),
        "vs_in_process_no_spin": round(results["mcp_search_ms"]["p50"] - results["in_process_no_spin_search_ms"]["p50"], 3),
    }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--block", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "mcp.json")
    args = parser.parse_args()

    import anyio

    from indexer.evaluate.questions import load_questions

    work = Path(tempfile.mkdtemp(prefix="notes-qa-bench-mcp-"))
    shutil.copytree(ROOT / "corpus", work / "corpus")
    env = dict(os.environ, NOTES_QA_CORPUS=str(work / "corpus"), NOTES_QA_INDEX=str(work / "index"),
               NOTES_QA_CACHE=os.environ.get("NOTES_QA_CACHE") or str(work / "cache"), HF_HUB_OFFLINE="1")
    subprocess.run([sys.executable, "-m", "notes_qa_cli", "index"], env=env, check=True, capture_output=True)
    questions = [q.question for q in load_questions(ROOT / "eval" / "questions.jsonl")]
    rounds = [anyio.run(run, args, env, questions) for _ in range(args.rounds)]
    results: dict[str, Any] = {"machine": machine_facts(), "calls": args.calls, "block": args.block,
                               "transcript": rounds[0].pop("transcript")}
    for r in rounds[1:]:
        r.pop("transcript")

    def median(path: tuple[str, str]) -> float:
        return round(statistics.median(r[path[0]][path[1]] for r in rounds), 3)

    keys = {"mcp_search_ms": "search_notes through the MCP stdio client",
            "in_process_search_ms": "in-process warm Searcher.search (as ask)",
            "in_process_no_spin_search_ms": "in-process, encoder threads not spinning (as the server)",
            "ping_ms": "ping round trip"}
    results["median"] = {key: {q: median((key, q)) for q in ("p50", "p95", "p99")} for key in keys}
    for group in ("p50_difference_ms", "cpu_ms_per_call", "rss_mb"):
        results["median"][group] = {k: median((group, k)) for k in rounds[0][group]}
    results["rounds"] = rounds
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    m = results["median"]
    print(f"| measure ({args.calls} calls each, alternating blocks of {args.block}; median of {args.rounds} rounds) "
          "| p50 | p95 | p99 |\n|---|---|---|---|")
    for key, label in keys.items():
        print(f"| {label} | {m[key]['p50']:.2f} | {m[key]['p95']:.2f} | {m[key]['p99']:.2f} ms |")
    c, d, r = m["cpu_ms_per_call"], m["p50_difference_ms"], m["rss_mb"]
    print(f"CPU per call: server {c['server']:.2f} + client {c['client']:.2f} ms, in-process search "
          f"{c['in_process_no_spin']:.2f} ms")
    per_round = ", ".join(f"{x['p50_difference_ms']['vs_in_process_no_spin']:+.2f}" for x in rounds)
    print(f"p50 difference: {d['vs_in_process']:+.2f} ms (vs ask's path), {d['vs_in_process_no_spin']:+.2f} ms (vs the same "
          f"encoder setting; rounds {per_round}); server RSS {r['after_warm_up']} -> {r['after_calls']} MB")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
