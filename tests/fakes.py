"""Deterministic stand-ins for the model, for fast unit tests."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from indexer.embedder import BaseEmbedder, Embedder, EmbedderChoice
from indexer.model_files import ModelInfo
from indexer.terms import terms

_WORD = re.compile(r"\S+")


class WordCounter:
    """Counts whitespace-separated words, plus two for [CLS] and [SEP]."""

    def count(self, texts: Sequence[str]) -> list[int]:
        return [len(_WORD.findall(t)) + 2 for t in texts]


class FakeEmbedder(BaseEmbedder):
    """Bag of stemmed words hashed into ``dim`` buckets, L2-normalized.

    Texts sharing words get similar vectors, so rankings are meaningful and
    exactly reproducible. Documents and questions embed alike (as MiniLM's do).
    """

    backend = "fake"
    precision = "fp32"

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.model_id = f"fake-{dim}"
        self.calls = 0
        self.texts_embedded = 0
        self.seen: list[str] = []  # every text it was given, in order (prefixes included)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts_embedded += len(texts)
        self.seen.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for term in terms(text) or ["\x00"]:
                bucket = int.from_bytes(hashlib.blake2b(term.encode(), digest_size=4).digest(), "little")
                out[row, bucket % self.dim] += 1.0
            out[row] /= np.linalg.norm(out[row])
        return out


class FakeBackend:
    """The fake embedder as a registered backend (``register_backend("fake", FakeBackend())``).

    ``make`` builds the embedder from the model's dimension, for builds and for
    questions alike; ``built`` and ``opened`` count the calls.
    """

    def __init__(self, make: Callable[[int], Embedder] = FakeEmbedder) -> None:
        self.make = make
        self.built = 0
        self.opened = 0

    def for_build(self, model: ModelInfo, cache_dir: Path, precision: str, notes: list[str]) -> Embedder:
        self.built += 1
        return self.make(model.dim)

    def for_index(
        self, choice: EmbedderChoice, model: ModelInfo, cache_dir: Path, *, spin: bool
    ) -> tuple[Embedder, tuple[str, ...]]:
        self.opened += 1
        return self.make(model.dim), ()
