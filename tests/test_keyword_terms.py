"""A build keeps each chunk's BM25 terms; the next build tokenises only the chunks that are new."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer import keyword
from indexer.build import build_index
from indexer.index_files import current_build
from indexer.keyword import EMPTY_TERM, TERM_STARTS_FILE, TERMS_FILE, KnownTerms, build_keyword_index, terms
from indexer.model_files import ModelInfo
from indexer.settings import Settings

from .conftest import SMALL_NOTES, small_settings
from .fakes import FakeEmbedder, WordCounter

TEXTS = ["DynamoDB items are at most 400KB", "", "the the and", "Redis keeps data; Redis replicates data"]


def test_kept_terms_read_back_as_the_tokeniser_gives_them(tmp_path: Path) -> None:
    build_keyword_index(TEXTS, tmp_path, keep_terms=True)
    known = KnownTerms.read(tmp_path, len(TEXTS))
    assert known is not None
    assert [known.of(i) for i in range(len(TEXTS))] == [terms(t) or [EMPTY_TERM] for t in TEXTS]
    assert known.of(3) == ["redi", "keep", "data", "redi", "replic", "data"]  # repeats and order kept
    assert KnownTerms.read(tmp_path, len(TEXTS) + 1) is None  # another build's count: not used
    (tmp_path / TERM_STARTS_FILE).unlink()
    assert KnownTerms.read(tmp_path, len(TEXTS)) is None
    other = tmp_path / "other"
    other.mkdir()
    build_keyword_index(TEXTS, other)  # not kept (as eval --beir builds it)
    assert not (other / TERMS_FILE).exists() and KnownTerms.read(other, len(TEXTS)) is None


def build(settings: Settings, model: ModelInfo, **kw: bool) -> Path:
    build_index(settings, embedder=FakeEmbedder(), token_counter=WordCounter(), model=model, **kw)
    folder = current_build(settings.index_dir)
    assert folder is not None
    return folder


def keyword_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("bm25.*"))}


def test_a_refresh_tokenises_only_new_chunks_and_scores_as_a_full_build(
    tmp_path: Path, fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = small_settings(tmp_path, SMALL_NOTES)
    build(settings, fake_model)
    tokenised: list[str] = []

    def counting(text: str) -> list[str]:
        tokenised.append(text)
        return terms(text)

    monkeypatch.setattr(keyword, "terms", counting)
    (settings.corpus_dir / "cache.md").write_text("# Cache\n\n## Valkey\n\n- open-source badgers\n")
    refreshed = build(settings, fake_model)
    assert tokenised and all("badgers" in t or "Valkey" in t or "Cache" in t for t in tokenised)
    assert not any("DynamoDB" in t or "S3" in t for t in tokenised)  # unchanged notes: terms reused
    incremental = keyword_files(refreshed)
    tokenised.clear()
    full = build(settings, fake_model, full=True)
    assert any("DynamoDB" in t for t in tokenised)  # --full tokenises everything again
    assert keyword_files(full) == incremental  # same matrix, vocabulary and kept terms, byte for byte
    assert np.load(full / TERM_STARTS_FILE)[-1] == len(np.load(full / TERMS_FILE))
