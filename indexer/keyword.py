"""Keyword search: BM25 scored at build time, saved as .npy arrays and JSON.

The score matrix is computed when the index is built (:mod:`bm25_matrix`, the
numbers bm25s gives, without its per-text loop; bm25s for other variants).
Queries read the saved sparse matrix with numpy alone (summing the columns of the
query terms, which is what bm25s's own ``get_scores`` does), so answering a
question never imports bm25s or scipy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .bm25_matrix import METHODS, bm25_matrix
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
    known: PreviousTerms | None = None,
    keep_terms: bool = False,
) -> None:
    """Score ``texts`` with BM25 and write the matrix into ``folder``.

    ``known`` gives the terms of the texts a previous build had (the others are tokenised);
    ``keep_terms`` also writes every text's terms (:data:`TERMS_FILE`) for the next build.
    The vocabulary is numbered in sorted order, so the same texts always give the same files.
    """
    import numpy as np

    names: list[str] = list(known.names) if known is not None else []
    fresh: dict[str, int] = {}  # terms of tokenised texts, numbered after the previous vocabulary
    runs: list[np.ndarray] = []
    for number, text in enumerate(texts):
        ids = known.ids[number] if known is not None else None
        if ids is None:
            ids = np.array([fresh.setdefault(term, len(names) + len(fresh)) for term in terms(text) or [EMPTY_TERM]],
                           dtype=np.int64)
        runs.append(ids)
    names += list(fresh)
    flat = np.concatenate(runs).astype(np.int64) if runs else np.zeros(0, dtype=np.int64)
    lengths = np.array([len(run) for run in runs], dtype=np.int64)
    used = np.flatnonzero(np.bincount(flat, minlength=len(names)))  # the ids in use, ascending (no sort)
    used_names = [names[i] for i in used.tolist()]
    vocab = {term: number for number, term in enumerate(sorted(set(used_names)))}
    renumber = np.zeros(len(names), dtype=np.int64)
    renumber[used] = [vocab[term] for term in used_names]
    flat = renumber[flat]
    if params.method in METHODS:
        matrix = bm25_matrix(flat, lengths, len(vocab), params.k1, params.b)
        data, indices, indptr = matrix.data, matrix.indices, matrix.indptr
    else:
        data, indices, indptr = _bm25s_matrix(flat, lengths, vocab, params)
    disk = disk or Disk()
    disk.save_npy(folder / "bm25.data.npy", np.asarray(data, dtype=np.float32))
    disk.save_npy(folder / "bm25.indices.npy", np.asarray(indices, dtype=np.int32))
    disk.save_npy(folder / "bm25.indptr.npy", np.asarray(indptr, dtype=np.int64))
    payload = {"params": params.to_json(), "num_docs": len(texts), "vocab": vocab}
    disk.write_json(folder / "bm25.vocab.json", payload, indent=None)
    if keep_terms:
        disk.save_npy(folder / TERMS_FILE, flat.astype(np.int32))
        disk.save_npy(folder / TERM_STARTS_FILE, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))


def _bm25s_matrix(flat: np.ndarray, lengths: np.ndarray, vocab: dict[str, int],
                  params: KeywordParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A BM25 variant :mod:`bm25_matrix` does not compute, by bm25s, on the same term numbers."""
    import bm25s
    import numpy as np

    if not len(lengths):
        return np.zeros(0), np.zeros(0), np.zeros(len(vocab) + 1, dtype=np.int64)
    retriever = bm25s.BM25(k1=params.k1, b=params.b, method=params.method)
    starts = np.concatenate([[0], np.cumsum(lengths)])
    runs = [flat[starts[i]:starts[i + 1]].tolist() for i in range(len(lengths))]
    scores = retriever.build_index_from_ids(list(range(len(vocab))), runs, show_progress=False)
    return scores["data"], scores["indices"], scores["indptr"]


class KnownTerms:
    """The terms of a previous build's texts, by position, as ids of its vocabulary (:data:`TERMS_FILE`)."""

    def __init__(self, vocab: Sequence[str], ids: np.ndarray, starts: np.ndarray) -> None:
        self.names = list(vocab)
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
                and bool(np.all(np.diff(starts) > 0)) and (not len(ids) or 0 <= int(ids.min()) <= int(ids.max()) < len(names)))
        return cls(names, ids, starts) if fits else None

    def ids(self, position: int) -> np.ndarray:
        """The term ids of text ``position`` of that build, in order."""
        return self._ids[int(self._starts[position]) : int(self._starts[position + 1])]

    def of(self, position: int) -> list[str]:
        """The terms of text ``position`` of that build, in order."""
        return [self.names[i] for i in self.ids(position).tolist()]


class TermsByKey:
    """A previous build's kept terms, found by a text's key (``text_keys.text_key``; that build's keys in order)."""

    def __init__(self, known: KnownTerms, keys: Sequence[str]) -> None:
        self._known = known
        self._position = {k: i for i, k in enumerate(keys)}

    def for_keys(self, keys: Sequence[str]) -> PreviousTerms:
        """What that build has of the texts with these keys, in their order."""
        found = [self._position.get(k) for k in keys]
        return PreviousTerms(self._known.names, [None if at is None else self._known.ids(at) for at in found])


@dataclass(frozen=True)
class PreviousTerms:
    """Each text's term ids in a previous build's vocabulary ``names`` (None: tokenise the text), texts in order."""

    names: Sequence[str]
    ids: Sequence[np.ndarray | None]


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
