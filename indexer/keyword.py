"""Keyword search: BM25 built by bm25s, saved as .npy arrays and JSON.

bm25s computes the BM25 score matrix when the index is built. Queries read the
saved sparse matrix with numpy alone (summing the columns of the query terms,
which is what bm25s's own ``get_scores`` does), so answering a question never
imports bm25s or scipy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .disk import Disk
from .errors import REBUILD, IndexFileError
from .safe_read import read_text
from .terms import terms  # the one tokenizer (snippets and the match flag share it)

if TYPE_CHECKING:
    import numpy as np

KEYWORD_FILES = ("bm25.data.npy", "bm25.indices.npy", "bm25.indptr.npy", "bm25.vocab.json")

@dataclass(frozen=True)
class KeywordParams:
    k1: float = 1.2
    b: float = 0.75
    method: str = "lucene"

    def to_json(self) -> dict[str, object]:
        return {"k1": self.k1, "b": self.b, "method": self.method, "tokenizer": "words-stop-snowball-v1"}


def build_keyword_index(
    texts: Sequence[str], folder: Path, params: KeywordParams = KeywordParams(), *, disk: Disk | None = None
) -> None:
    """Score ``texts`` with bm25s and write the matrix into ``folder``."""
    import bm25s
    import numpy as np

    corpus_terms = [terms(t) or ["\x00empty"] for t in texts]
    retriever = bm25s.BM25(k1=params.k1, b=params.b, method=params.method)
    if texts:
        retriever.index(corpus_terms, show_progress=False)
        scores = retriever.scores
        vocab = {str(k): int(v) for k, v in retriever.vocab_dict.items()}
        data, indices, indptr = scores["data"], scores["indices"], scores["indptr"]
    else:
        vocab, data, indices, indptr = {}, np.zeros(0), np.zeros(0), np.zeros(1, dtype=np.int64)
    disk = disk or Disk()
    disk.save_npy(folder / "bm25.data.npy", np.asarray(data, dtype=np.float32))
    disk.save_npy(folder / "bm25.indices.npy", np.asarray(indices, dtype=np.int32))
    disk.save_npy(folder / "bm25.indptr.npy", np.asarray(indptr, dtype=np.int64))
    payload = {"params": params.to_json(), "num_docs": len(texts), "vocab": vocab}
    disk.write_json(folder / "bm25.vocab.json", payload, indent=None)


class KeywordIndex:
    """BM25 scores of every chunk for a query, from the saved matrix."""

    def __init__(self, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, vocab: dict[str, int], num_docs: int):
        self.data = data
        self.indices = indices
        self.indptr = indptr
        self.vocab = vocab
        self.num_docs = num_docs

    @classmethod
    def load(cls, folder: Path, *, mmap: bool = False) -> KeywordIndex:
        import numpy as np

        try:
            mode: Literal["r"] | None = "r" if mmap else None
            data = np.load(folder / "bm25.data.npy", allow_pickle=False, mmap_mode=mode)
            indices = np.load(folder / "bm25.indices.npy", allow_pickle=False, mmap_mode=mode)
            indptr = np.load(folder / "bm25.indptr.npy", allow_pickle=False, mmap_mode=mode)
            payload = json.loads(read_text(folder / "bm25.vocab.json", 1 << 30))
            vocab = payload["vocab"]
            num_docs = int(payload["num_docs"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexFileError(
                f"the keyword index in {folder} is unreadable ({exc.__class__.__name__})", fix=REBUILD
            ) from exc
        consistent = (
            isinstance(vocab, dict)
            and data.ndim == 1
            and indices.shape == data.shape
            # bm25s gives the empty token an id but no column: len(vocab) or len(vocab) + 1 pointers
            and indptr.ndim == 1
            and len(vocab) <= len(indptr) <= len(vocab) + 1
            and int(indptr[-1]) == len(data)
            and all(isinstance(v, int) and 0 <= v <= len(vocab) for v in vocab.values())
            and (len(indices) == 0 or (int(indices.min()) >= 0 and int(indices.max()) < num_docs))
        )
        if not consistent:
            raise IndexFileError(f"the keyword index in {folder} is inconsistent", fix=REBUILD)
        return cls(data, indices, indptr, vocab, num_docs)

    def term_ids(self, query: str) -> list[int]:
        columns = len(self.indptr) - 1
        return [self.vocab[t] for t in terms(query) if t in self.vocab and self.vocab[t] < columns]

    def scores(self, query: str) -> np.ndarray:
        import numpy as np

        scores = np.zeros(self.num_docs, dtype=np.float32)
        for term in self.term_ids(query):
            start, end = int(self.indptr[term]), int(self.indptr[term + 1])
            np.add.at(scores, self.indices[start:end], self.data[start:end])
        return scores
