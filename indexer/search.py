"""Answer questions from a loaded index: dense, keyword or hybrid ranking."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .confidence import judge_hits
from .errors import UsageError
from .fusion import FusionParams, fuse
from .models import Hit, SearchFilter, SearchResult
from .snippets import SnippetParams, answer_snippet, query_stems

if TYPE_CHECKING:
    import numpy as np

    from .embedder import Embedder
    from .index_files import LoadedIndex

MODES = ("hybrid", "dense", "keyword")
MAX_QUERY_CHARS = 4000


def check_query(query: str, k: int, mode: str) -> str:
    if mode not in MODES:
        raise UsageError(f"unknown mode {mode!r}; use one of: {', '.join(MODES)}")
    if k < 1:
        raise UsageError(f"-k must be at least 1 (got {k})")
    cleaned = "".join(ch if ch.isprintable() else " " for ch in query).strip()
    if not cleaned:
        raise UsageError("the question is empty; type a question, e.g. notes-qa ask \"How big can a DynamoDB item be?\"")
    return cleaned[:MAX_QUERY_CHARS]


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

        self.index = index
        #: Said with every result (e.g. the index could not be refreshed and is older than the notes).
        self.warnings = warnings
        self.embedder = embedder
        self.fusion = fusion
        self.snippet_params = snippet
        rows = {(row.path, row.line): i for i, row in enumerate(index.line_rows)}
        self._chunk_rows: list[np.ndarray] = [
            np.array([rows.get((c.path, n), -1) for n, _ in c.numbered_lines()], dtype=np.int64)
            for c in index.chunks
        ]
        # Flattened line rows of every chunk that has any, for a vectorised "best line" per chunk.
        valid = [r[r >= 0] for r in self._chunk_rows]
        self._has_lines = np.array([len(r) > 0 for r in valid], dtype=bool)
        kept = [r for r in valid if len(r)]
        self._flat_rows = np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)
        self._offsets = np.cumsum([0] + [len(r) for r in kept[:-1]]).astype(np.int64) if kept else np.zeros(0, dtype=np.int64)

    @property
    def size(self) -> int:
        return len(self.index.chunks)

    def _dense(self, qv: np.ndarray, line_cos: np.ndarray) -> np.ndarray:
        import numpy as np

        n = self.size
        scores = np.full(n, -1.0, dtype=np.float32)
        take = n if n <= 20_000 else min(n, max(self.fusion.candidates, 1000))
        found = self.index.store.search(qv[None, :], take).for_query(0)
        scores[found.ids] = found.scores
        weight = self.fusion.line_weight
        if weight > 0 and len(line_cos) and len(self._flat_rows):
            best_line = np.maximum.reduceat(line_cos[self._flat_rows], self._offsets)
            blend = self._has_lines & (scores > -1.0)
            positions = np.cumsum(self._has_lines) - 1
            scores[blend] = (1 - weight) * scores[blend] + weight * best_line[positions[blend]]
        return scores

    def allowed(self, filters: SearchFilter | None) -> np.ndarray | None:
        """A boolean mask of the chunks ``filters`` lets through (None: all of them)."""
        import numpy as np

        if not filters:
            return None
        return np.fromiter((filters.allows(c) for c in self.index.chunks), dtype=bool, count=self.size)

    def _rank(
        self, query: str, mode: str, qv: np.ndarray | None, line_cos: np.ndarray, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, ...]:
        import numpy as np

        n = self.size
        dense = self._dense(qv, line_cos) if qv is not None else np.zeros(n, dtype=np.float32)
        keyword = self.index.keyword.scores(query) if mode != "dense" else np.zeros(n, dtype=np.float32)
        if allowed is not None:  # filters apply before ranking: the rest never competes
            dense[~allowed] = -np.inf
            keyword[~allowed] = 0.0
        if mode == "dense":
            return dense, dense, keyword
        if mode == "keyword":
            return keyword, dense, keyword
        return fuse(dense, keyword, self.fusion), dense, keyword

    def search(
        self, query: str, k: int = 5, mode: str = "hybrid", filters: SearchFilter | None = None
    ) -> SearchResult:
        import numpy as np

        started = time.perf_counter()
        query = check_query(query, k, mode)
        if self.size == 0:
            return SearchResult(query, mode, (), time.perf_counter() - started, warnings=self.warnings)
        # The question's vector ranks chunks (dense, hybrid) and picks snippet lines (all modes).
        qv = self.embedder.embed([query])[0]
        line_cos = self.index.line_vectors @ qv if len(self.index.line_vectors) else np.zeros(0, dtype=np.float32)
        allowed = self.allowed(filters)
        scores, dense, keyword = self._rank(query, mode, qv if mode != "keyword" else None, line_cos, allowed)
        if allowed is not None:
            scores = np.where(allowed, scores, -np.inf)
        order = np.argsort(-scores, kind="stable")
        stems = query_stems(query)
        hits: list[Hit] = []
        shown_lines: set[tuple[str, int]] = set()
        for i in order:
            if len(hits) >= k or not np.isfinite(scores[i]):
                break
            if mode == "keyword" and scores[i] <= 0:
                break
            chunk = self.index.chunks[int(i)]
            rows = self._chunk_rows[int(i)]
            per_line = [float(line_cos[r]) if r >= 0 and len(line_cos) else None for r in rows]
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
                    score=float(scores[i]),
                    chunk=chunk,
                    snippet=snippet,
                    dense_score=float(dense[i]),
                    keyword_score=float(keyword[i]),
                    answer_line=answered.answer_line,
                    answer_score=answered.answer_cosine,
                )
            )
        match = judge_hits(self.index.keyword, query, hits)
        return SearchResult(
            query, mode, tuple(hits), time.perf_counter() - started, warnings=self.warnings, match=match
        )
