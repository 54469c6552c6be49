"""Chunk one 9.8 MB single-line note with the bundled model's tokenizer (issue 12, F10).

Prints the seconds and the number of chunks; run under ``/usr/bin/time -f "%M KB"`` for the
peak memory. Point PYTHONPATH at another checkout to measure older code::

    /usr/bin/time -f "maxrss %M KB" .venv/bin/python benchmarks/chunk_long_line.py
"""

from __future__ import annotations

import time

from indexer.chunker import chunk_document
from indexer.model_files import resolve_model
from indexer.settings import ChunkerSettings
from indexer.tokens import HFTokenCounter


def main() -> None:
    counter = HFTokenCounter(resolve_model(None).tokenizer_json)
    words = " ".join(f"token{i % 5000}" for i in range(1_000_000))
    text = "# Big\n\n" + words[:9_900_000] + "\n"
    started = time.perf_counter()
    chunks = chunk_document("big.md", text, counter, ChunkerSettings())
    print(f"{len(text) / 1e6:.1f} MB line: {time.perf_counter() - started:.1f} s, {len(chunks)} chunks")


if __name__ == "__main__":
    main()
