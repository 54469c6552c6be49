"""Keyword search: BM25 built by bm25s, saved as .npy arrays and JSON.

bm25s computes the BM25 score matrix when the index is built. Queries read the
saved sparse matrix with numpy alone (summing the columns of the query terms,
which is what bm25s's own ``get_scores`` does), so answering a question never
imports bm25s or scipy.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
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


#: Each text's terms as ids of ``bm25.vocab.json`` (flat, int32) and where each text's run starts
#: (int64, texts + 1): what the next build reuses instead of tokenising unchanged chunks again.
TERMS_FILE = "bm25.terms.npy"
TERM_STARTS_FILE = "bm25.terms.starts.npy"
EMPTY_TERM = "\x00empty"  # the one term of a text without any


def build_keyword_index(
    texts: Sequence[str],
    folder: Path,
    params: KeywordParams = KeywordParams(),
    *,
    disk: Disk | None = None,
    known: Callable[[str], list[str] | None] | None = None,
    keep_terms: bool = False,
) -> None:
    """Score ``texts`` with bm25s and write the matrix into ``folder``.

    ``known(text)`` gives a text's terms when a previous build has them (None: tokenise it);
    ``keep_terms`` also writes every text's terms (:data:`TERMS_FILE`) for the next build.
    """
    import bm25s
    import numpy as np

    corpus_terms = [(known(t) if known is not None else None) or terms(t) or [EMPTY_TERM] for t in texts]
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
    if keep_terms:
        counts = np.array([len(t) for t in corpus_terms], dtype=np.int64)
        flat = [vocab[term] for text_terms in corpus_terms for term in text_terms]
        disk.save_npy(folder / TERMS_FILE, np.array(flat, dtype=np.int32))
        disk.save_npy(folder / TERM_STARTS_FILE, np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))


class KnownTerms:
    """The terms of a previous build's texts, by position, decoded from :data:`TERMS_FILE` when asked for."""

    def __init__(self, vocab: Sequence[str], ids: np.ndarray, starts: np.ndarray) -> None:
        import numpy as np

        self._vocab = np.array(list(vocab), dtype=object)
        self._ids = ids
        self._starts = starts

    @classmethod
    def read(cls, folder: Path, texts: int) -> KnownTerms | None:
        """The terms of the build in ``folder`` (``texts`` texts), or None if it kept none or they do not fit."""
        import numpy as np

        if not (folder / TERMS_FILE).exists():
            return None
        try:
            payload = json.loads(read_text(folder / "bm25.vocab.json", 1 << 30))
            vocab = payload["vocab"]
            ids = np.load(folder / TERMS_FILE, allow_pickle=False)
            starts = np.load(folder / TERM_STARTS_FILE, allow_pickle=False)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not isinstance(vocab, dict):
            return None
        names = [""] * len(vocab)
        for term, number in vocab.items():
            if not (isinstance(number, int) and 0 <= number < len(names)):
                return None
            names[number] = str(term)
        fits = (ids.dtype == np.int32 and starts.dtype == np.int64 and ids.ndim == starts.ndim == 1
                and len(starts) == texts + 1 and int(starts[0]) == 0 and int(starts[-1]) == len(ids)
                and bool(np.all(np.diff(starts) >= 0)) and (not len(ids) or 0 <= int(ids.min()) <= int(ids.max()) < len(names)))
        return cls(names, ids, starts) if fits else None

    def of(self, position: int) -> list[str]:
        """The terms of text ``position`` of that build, in order."""
        run = self._ids[int(self._starts[position]) : int(self._starts[position + 1])]
        return list(self._vocab[run])


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
