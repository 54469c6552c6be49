"""Answer questions from a loaded index: dense, keyword or hybrid ranking over candidate lists.

Three lists of candidates are gathered for a question: the best chunks by cosine
(the chunk :class:`~indexer.vector_index.VectorIndex`), the best single lines by
cosine (each line stands for its chunk), and the best chunks by BM25. Only the
union of those is scored: the chunk cosines a list lacks are computed from the
fetched vectors, each candidate's best line from its own lines, its BM25 score
from the keyword index; then :func:`~indexer.fusion.fuse` ranks the candidates.

Up to :data:`EXACT_CHUNKS` chunks every chunk is a candidate, so ranking is exact
(the answers are those of scoring every chunk). Above it each list holds
:data:`CANDIDATE_DEPTH` entries: a chunk in none of the three lists is not
ranked, which is the approximation at large sizes (besides an IVF chunk index's
own recall).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from .confidence import judge_hits
from .errors import UsageError
from .fusion import FusionParams, fuse
from .models import Hit, SearchFilter, SearchResult
from .modes import MODES
from .snippets import SnippetParams, answer_snippet, query_stems
from .vector_index import ExactIndex, VectorIndex, top_candidates

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from .embedder import Embedder
    from .index_files import LoadedIndex

MAX_QUERY_CHARS = 4000
#: Up to this many chunks every chunk is a candidate: exact ranking (the bundled notes have 64).
EXACT_CHUNKS: Final = 20_000
#: Above :data:`EXACT_CHUNKS`, the length of each candidate list (and at least ``FusionParams.candidates``).
#: 300, three times the fusion's pool: on the 100,000-note vault (benchmarks/vault_scale.py), 300 SciFact
#: queries got the same top 10 as with 1,000 for 299 of them and the same first hit for all 300, at 12.0
#: instead of 19.6 ms a question (median; 2026-12-03).
CANDIDATE_DEPTH: Final = 300


def check_query(query: str, k: int, mode: str) -> str:
    if mode not in MODES:
        raise UsageError(f"unknown mode {mode!r}", fix=f"use one of: {', '.join(MODES)}")
    if k < 1:
        raise UsageError(f"-k must be at least 1 (got {k})")
    cleaned = "".join(ch if ch.isprintable() else " " for ch in query).strip()
    if not cleaned:
        raise UsageError("the question is empty", fix='type a question, e.g. notes-qa ask "How big can a DynamoDB item be?"')
    return cleaned[:MAX_QUERY_CHARS]


@dataclass(frozen=True)
class Ranked:
    """The chunks competing for one question: ``ids`` ascending, with their scores (aligned arrays).

    ``scores`` is what the mode ranks by (``-inf``: does not compete); ``dense`` and
    ``keyword`` are each chunk's two scores, as shown with a hit (0 where the mode
    does not use one).
    """

    ids: npt.NDArray[np.int64]
    scores: npt.NDArray[np.float32]
    dense: npt.NDArray[np.float32]
    keyword: npt.NDArray[np.float32]


@dataclass(frozen=True)
class _Pool:
    """Candidate chunk ids (ascending), their chunk cosines (-1: not returned) and BM25 scores."""

    ids: npt.NDArray[np.int64]
    cosines: npt.NDArray[np.float32]
    keyword: npt.NDArray[np.float32]


class _LineCosines:
    """Cosines of the question with single lines, computed for the lines asked about (all of them when ``full``)."""

    def __init__(self, lines: ExactIndex, qv: npt.NDArray[np.float32], *, full: bool) -> None:
        self._lines = lines
        self._qv = qv
        self._all = lines.scores(qv) if full else None
        self._all_list: list[float] | None = None

    def of(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        """The cosines of line ``rows`` (valid rows, any order, repeats allowed)."""
        import numpy as np

        if self._all is not None:
            return self._all[rows]
        return np.asarray(self._lines.vectors[rows] @ self._qv, dtype=np.float32)  # our own rows: no id checks

    def per_line(self, rows: list[int]) -> list[float | None]:
        """One cosine per entry of a chunk's ``rows`` (None where a line has no vector, row -1)."""
        import numpy as np

        if self._all is not None:
            if self._all_list is None:  # one conversion per question, then plain list look-ups
                self._all_list = self._all.tolist()
            every = self._all_list
            return [every[r] if r >= 0 else None for r in rows]
        valid = [r for r in rows if r >= 0]
        values = iter(self.of(np.array(valid, dtype=np.int64)).tolist()) if valid else iter(())
        return [next(values) if r >= 0 else None for r in rows]


#: Fewer scores than this are simply sorted (a partition first costs more than it saves).
_SORT_ALL_BELOW: Final = 2048


def _best_first(scores: npt.NDArray[np.float32], first: int) -> Iterator[int]:
    """Positions of ``scores``, best first, ties by position (a stable descending sort), sorted only as deep
    as the caller reads: ``argpartition`` of the best ``first``, then four times as many, and so on."""
    import numpy as np

    done, depth, n = 0, max(1, first), len(scores)
    negated = -scores
    while done < n:
        if depth >= n or n <= _SORT_ALL_BELOW:
            order = np.argsort(negated, kind="stable")
        else:
            bound = np.partition(negated, depth - 1)[depth - 1]
            top = np.flatnonzero(negated <= bound)  # ties at the bound included: a prefix of the stable order
            order = top[np.argsort(negated[top], kind="stable")]
        yield from order[done:].tolist()
        done, depth = len(order), depth * 4


class Searcher:
    """Ranks the chunks of one index for a question. Thread-safe for reading."""

    def __init__(
        self,
        index: LoadedIndex,
        embedder: Embedder,
        *,
        fusion: FusionParams = FusionParams(),
        snippet: SnippetParams = SnippetParams(),
        warnings: tuple[str, ...] = (),
    ) -> None:
        import numpy as np

        from .store import VectorStore

        self.index = index
        #: Said with every result (e.g. the index could not be refreshed and is older than the notes).
        self.warnings = warnings
        self.embedder = embedder
        self.fusion = fusion
        self.snippet_params = snippet
        self.chunk_vectors: VectorIndex = index.store
        self._faiss = index.store if isinstance(index.store, VectorStore) else None  # (not a Milvus collection)
        self.line_vectors = ExactIndex(index.line_vectors)
        #: Where the best lines are searched above EXACT_CHUNKS (a Milvus collection, the build's lines.faiss,
        #: else a scan of the local matrix);
        #: line cosines for blending and snippets always come from the local ``line_vectors``.
        self.line_index: VectorIndex = index.line_index or self.line_vectors
        #: How deep the chunk index searches at once (a Milvus collection: 16,384), if it has a bound.
        self._max_k: int | None = getattr(index.store, "max_k", None)
        # Each chunk's line rows (-1: no vector), made at index time (chunk_lines.py); flattened
        # without the -1s, chunk order, for a vectorised "best line" per chunk.
        table = index.chunk_lines
        self._chunk_lines = table
        per_line = np.diff(table.starts)
        valid = table.rows >= 0
        all_chunks = np.repeat(np.arange(len(per_line), dtype=np.int64), per_line)
        self._flat_rows = table.rows[valid]
        flat_chunks = all_chunks[valid]
        self._line_count = np.bincount(flat_chunks, minlength=len(per_line)).astype(np.int64)
        self._line_start = np.cumsum(self._line_count) - self._line_count
        # Line row -> the chunks holding it (sorted by row), for line candidates.
        by_row = np.argsort(self._flat_rows, kind="stable")
        self._rows_sorted = self._flat_rows[by_row]
        self._chunks_by_row = flat_chunks[by_row]
        self._flat_chunks = flat_chunks

    @property
    def size(self) -> int:
        return len(self.index.chunks)

    def allowed(self, filters: SearchFilter | None) -> np.ndarray | None:
        """A boolean mask of the chunks ``filters`` lets through (None: all of them)."""
        import numpy as np

        if not filters:
            return None
        return np.fromiter((filters.allows(c) for c in self.index.chunks), dtype=bool, count=self.size)

    def _dense(
        self, ids: npt.NDArray[np.int64], cosines: npt.NDArray[np.float32], lines: _LineCosines
    ) -> npt.NDArray[np.float32]:
        """Dense scores of chunks ``ids``: chunk cosine blended with the best cosine of a line of the chunk.

        ``cosines`` holds -1 for a chunk the chunk index did not return (left unblended).
        """
        import numpy as np

        scores = cosines.copy()
        weight = self.fusion.line_weight
        if weight <= 0 or self.line_vectors.ntotal == 0 or len(self._flat_rows) == 0:
            return scores
        counts = self._line_count[ids]
        has_lines = counts > 0
        counts = counts[has_lines]
        if not len(counts):
            return scores
        offsets = np.cumsum(counts) - counts
        if len(ids) == self.size:  # every chunk: its lines are the whole flat list
            flat_rows = self._flat_rows
        else:
            starts = self._line_start[ids[has_lines]]
            flat_rows = self._flat_rows[np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(offsets - starts, counts)]
        best_line = np.maximum.reduceat(lines.of(flat_rows), offsets)
        blend = has_lines & (scores > -1.0)
        positions = np.cumsum(has_lines) - 1
        scores[blend] = (1 - weight) * scores[blend] + weight * best_line[positions[blend]]
        return scores

    def _chunks_of_best_lines(
        self, qv: np.ndarray, depth: int, line_ids: npt.NDArray[np.int64] | None
    ) -> npt.NDArray[np.int64]:
        """The chunks holding the question's ``depth`` best lines (searched among ``line_ids``, None: all)."""
        import numpy as np

        best_lines = self.line_index.search(qv[None, :], depth, line_ids).for_query(0)
        found = best_lines.ids[best_lines.ids >= 0]
        left = np.searchsorted(self._rows_sorted, found, side="left")
        counts = np.searchsorted(self._rows_sorted, found, side="right") - left
        # each line's run of holders in _chunks_by_row, concatenated
        steps = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts - left, counts)
        holders: npt.NDArray[np.int64] = self._chunks_by_row[steps]
        return holders

    def _pool(
        self, query: str, mode: str, qv: np.ndarray, allowed: np.ndarray | None
    ) -> _Pool:
        """The union of the candidate lists (every allowed chunk up to :data:`EXACT_CHUNKS`), scored."""
        import numpy as np

        n = self.size
        keyword_all = self.index.keyword.scores(query) if mode != "dense" else None
        if n <= EXACT_CHUNKS and (self._max_k is None or n <= self._max_k):  # every chunk competes
            ids = np.arange(n, dtype=np.int64)
            cosines = np.full(n, -1.0, dtype=np.float32)
            if mode != "keyword":
                every = None if self._faiss is None else self._faiss.all_scores(qv)
                if every is not None:  # a flat FAISS store: every cosine in one pass
                    cosines = every
                else:
                    found = self.chunk_vectors.search(qv[None, :], n).for_query(0)
                    cosines[found.ids] = found.scores
        else:
            depth = max(self.fusion.candidates, CANDIDATE_DEPTH)
            allowed_ids = None if allowed is None else np.flatnonzero(allowed).astype(np.int64)
            lists = []
            found = None
            if mode != "keyword":
                found = self.chunk_vectors.search(qv[None, :], depth, allowed_ids).for_query(0)
                lists.append(found.ids)
                line_ids = None if allowed is None else np.unique(self._flat_rows[allowed[self._flat_chunks]])
                lists.append(self._chunks_of_best_lines(qv, depth, line_ids))
            if keyword_all is not None:
                best_terms = top_candidates(keyword_all, depth, allowed_ids)
                lists.append(best_terms.ids[best_terms.scores > 0])
            ids = np.unique(np.concatenate(lists)) if lists else np.zeros(0, dtype=np.int64)
            if allowed is not None:
                ids = ids[allowed[ids]]
            cosines = np.full(len(ids), -1.0, dtype=np.float32)
            if found is not None:
                cosines[np.searchsorted(ids, found.ids)] = found.scores
                fill = np.flatnonzero(np.isin(ids, found.ids, invert=True))
                if len(fill):
                    cosines[fill] = self.chunk_vectors.fetch(ids[fill]) @ qv
        keyword = keyword_all[ids] if keyword_all is not None else np.zeros(len(ids), dtype=np.float32)
        return _Pool(ids, cosines, keyword)

    def _rank(
        self, query: str, mode: str, qv: np.ndarray, lines: _LineCosines, allowed: np.ndarray | None = None
    ) -> Ranked:
        import numpy as np

        pool = self._pool(query, mode, qv, allowed)
        ids, keyword = pool.ids, pool.keyword
        dense = self._dense(ids, pool.cosines, lines) if mode != "keyword" else np.zeros(len(ids), dtype=np.float32)
        if allowed is not None:  # filters apply before ranking: the rest never competes
            dropped = ~allowed[ids]
            dense[dropped] = -np.inf
            keyword[dropped] = 0.0
        if mode == "dense":
            scores = dense
        elif mode == "keyword":
            scores = keyword
        else:
            scores = fuse(dense, keyword, self.fusion)
        if allowed is not None:
            scores = np.where(allowed[ids], scores, -np.inf)
        return Ranked(ids, scores, dense, keyword)

    def search(
        self, query: str, k: int = 5, mode: str = "hybrid", filters: SearchFilter | None = None
    ) -> SearchResult:
        import numpy as np

        started = time.perf_counter()
        query = check_query(query, k, mode)
        if self.size == 0:
            return SearchResult(query, mode, (), time.perf_counter() - started, warnings=self.warnings)
        # The question's vector ranks chunks (dense, hybrid) and picks snippet lines (all modes).
        qv = self.embedder.embed_query(query)
        # Up to EXACT_CHUNKS every line's cosine in one product (cheap, and the very values snippets
        # always had: a product over a subset can differ in the last bit and flip a near-tie answer
        # line); above it only the lines of the candidates and of the chunks shown.
        lines = _LineCosines(self.line_vectors, qv, full=self.size <= EXACT_CHUNKS)
        ranked = self._rank(query, mode, qv, lines, self.allowed(filters))
        scores = ranked.scores
        stems = query_stems(query)
        hits: list[Hit] = []
        shown_lines: set[tuple[str, int]] = set()
        for position in _best_first(scores, 4 * k):
            if len(hits) >= k or not np.isfinite(scores[position]):
                break
            if mode == "keyword" and scores[position] <= 0:
                break
            i = int(ranked.ids[position])
            chunk = self.index.chunks[i]
            per_line = lines.per_line(self._chunk_lines.of(i).tolist())
            # Lines a better hit already shows are left out of this one's snippet;
            # a hit with nothing new to show is dropped.
            exclude = frozenset(n for p, n in shown_lines if p == chunk.path)
            answered = answer_snippet(chunk, per_line, stems, self.snippet_params, exclude)
            if answered is None:
                continue
            snippet = answered.snippet
            shown_lines.update((chunk.path, n) for n in snippet.line_numbers)
            hits.append(
                Hit(
                    rank=len(hits) + 1,
                    score=float(scores[position]),
                    chunk=chunk,
                    snippet=snippet,
                    dense_score=float(ranked.dense[position]),
                    keyword_score=float(ranked.keyword[position]),
                    answer_line=answered.answer_line,
                    answer_score=answered.answer_cosine,
                )
            )
        match = judge_hits(self.index.keyword, query, hits)
        return SearchResult(
            query, mode, tuple(hits), time.perf_counter() - started, warnings=self.warnings, match=match
        )
