"""``notes-qa eval``: score retrieval on the own question set or a BEIR dataset."""

from __future__ import annotations

import argparse
import json
from typing import Any

from indexer.errors import UsageError
from indexer.modes import MODES
from indexer.safe_text import safe_text

from .common import open_index, settings_from_args, warn
from .progress import ProgressBar


def _modes(args: argparse.Namespace) -> tuple[str, ...]:
    return MODES if args.all_modes else (args.mode,)


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"

    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def run_notes_eval(args: argparse.Namespace) -> int:
    from indexer.evaluate.match_rates import match_rates
    from indexer.evaluate.notes_eval import (
        evaluate_mode,
        missing_evidence,
        outcome_to_json,
        relevant_chunk_counts,
        summarize,
    )
    from indexer.evaluate.questions import load_questions

    questions = load_questions(args.questions)
    if args.limit:
        questions = questions[: args.limit]
    settings = settings_from_args(args)
    searcher = open_index(settings).searcher
    for message in missing_evidence(searcher, questions):
        warn(message)
    counts = relevant_chunk_counts(searcher, questions)
    searcher.search(questions[0].question, k=args.k)  # warm-up, not timed
    metrics: dict[str, Any] = {}
    per_question: list[dict[str, Any]] = []
    for mode in _modes(args):
        outcomes = evaluate_mode(searcher, questions, mode, args.k)
        # Off-topic questions ("expect": "none") have no evidence: they count for the match flag only.
        scored = [o for o, q in zip(outcomes, questions) if q.expect != "none"]
        metrics[mode] = {"match": match_rates(outcomes, questions, counts)}
        if scored:
            report = summarize(scored, counts, mode, args.k)
            metrics[mode].update({**report.metrics, "latency_ms": report.latency_ms, "by_style": report.by_style})
        per_question.extend(outcome_to_json(o) for o in outcomes)
    if args.json:
        print(json.dumps({"questions": len(questions), "metrics": metrics, "per_question": per_question}))
        return 0
    names = ["hit@1", "hit@3", "hit@5", "hit@10", "mrr@10", "ndcg@10"]
    rows = []
    for mode, m in metrics.items():
        for level in ("chunk", "snippet") if "chunk" in m else ():
            rows.append([mode, level, *[f"{m[level][n]:.3f}" for n in names], f"{m['latency_ms']['p50']:.1f}",
                         f"{m['latency_ms']['p95']:.1f}"])
    print(f"{len(questions)} questions from {safe_text(str(args.questions), keep_newlines=False)}")
    if rows:
        print(_table(["mode", "level", *names, "p50 ms", "p95 ms"], rows))
    style_rows = []
    for mode, m in metrics.items():
        for style, s in m.get("by_style", {}).items():
            style_rows.append([mode, style, str(int(s["count"]["questions"])), f"{s['snippet']['hit@1']:.3f}",
                               f"{s['snippet']['hit@5']:.3f}", f"{s['snippet']['mrr@10']:.3f}"])
    if style_rows:
        print()
        print(_table(["mode", "style", "n", "snippet hit@1", "snippet hit@5", "snippet mrr@10"], style_rows))
    match_rows = [[mode, group, str(int(r["questions"])), *[f"{r[flag]:.1%}" for flag in ("good", "weak", "none")]]
                  for mode, m in metrics.items() for group, r in m["match"].items()]
    if match_rows:
        print()
        print(_table(["mode", "match flag on", "n", "good", "weak", "none"], match_rows))
    return 0


def run_beir_eval(args: argparse.Namespace) -> int:
    from indexer.embedder_factory import embedder_for_build
    from indexer.evaluate.beir import beir_index, latency_summary, load_beir, rank_beir, score_runs
    from indexer.model_files import resolve_model

    settings = settings_from_args(args)
    data = load_beir(args.beir, args.split)
    for message in data.warnings:
        warn(message)
    model = resolve_model(settings.model_dir)
    embedder = embedder_for_build(model, settings.cache_dir, settings.precision or "fp32")
    bar = ProgressBar()
    try:
        # --index names where the dataset's index is cached; by default under $NOTES_QA_CACHE.
        root = args.index if args.index is not None else settings.cache_dir / "beir"
        index = beir_index(data, embedder, root, progress=bar, warn=warn)
    finally:
        bar.close()
    results: dict[str, Any] = {}
    for mode in _modes(args):
        run = rank_beir(data, index, embedder, mode)
        results[mode] = {"metrics": score_runs(run.runs, data.qrels), "latency_ms": latency_summary(run.latencies_ms)}
    payload = {
        "dataset": str(args.beir),
        "split": args.split,
        "documents": len(data.doc_ids),
        "queries": len(data.qrels),
        "model": model.model_id,
        "encoder": embedder.backend,  # the keys of earlier versions, kept for scripts that read them
        "variant": embedder.precision,
        "backend": embedder.backend,
        "precision": embedder.precision,
    }
    if args.json:
        if len(results) == 1:
            (only,) = results.values()
            payload.update(only)
        payload["modes"] = results
        print(json.dumps(payload))
        return 0
    print(f"{safe_text(f'{args.beir} ({args.split})', keep_newlines=False)}: {len(data.doc_ids)} documents, "
          f"{len(data.qrels)} queries, {model.model_id}, {embedder.precision} encoder")
    rows = [[mode, *[f"{r['metrics'][n]:.4f}" for n in ("ndcg@10", "recall@100", "mrr@10")],
             f"{r['latency_ms']['p50']:.2f}"] for mode, r in results.items()]
    print(_table(["mode", "nDCG@10", "Recall@100", "MRR@10", "p50 ms"], rows))
    return 0


def run_eval(args: argparse.Namespace) -> int:
    if args.beir is not None and args.questions is not None:
        raise UsageError("give either a questions file or --beir DIR, not both")
    if args.beir is not None:
        return run_beir_eval(args)
    if args.questions is None:
        raise UsageError("give a questions file (e.g. eval/questions.jsonl) or --beir DIR")
    return run_notes_eval(args)
