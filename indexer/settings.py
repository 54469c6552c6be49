"""All settings in one typed object, read from flags and NOTES_QA_* variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

#: Query/index encoders: ``fp32`` gives sentence-transformers' vectors; ``int8`` is quantized.
PRECISIONS = ("fp32", "int8")


def _default_cache_dir(env: Mapping[str, str]) -> Path:
    if env.get("NOTES_QA_CACHE"):
        return Path(env["NOTES_QA_CACHE"])
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "notes-qa"


@dataclass(frozen=True)
class ChunkerSettings:
    """How notes are cut into chunks. Part of the index fingerprint."""

    #: Hard limit of the model, in word pieces including [CLS] and [SEP].
    max_tokens: int = 256
    #: Target size of a chunk (heading path included), at most ``max_tokens``.
    target_tokens: int = 256
    #: Blocks (list items, lines, table rows) repeated from the end of the
    #: previous chunk at the start of the next one in the same section.
    overlap_blocks: int = 1
    #: Files larger than this are skipped with a warning.
    max_file_bytes: int = 10_000_000

    def to_json(self) -> dict[str, int]:
        return {
            "max_tokens": self.max_tokens,
            "target_tokens": self.target_tokens,
            "overlap_blocks": self.overlap_blocks,
            "max_file_bytes": self.max_file_bytes,
        }


@dataclass(frozen=True)
class Settings:
    """Where things are and how they are built.

    corpus_dir: the folder of notes (``--corpus``, ``NOTES_QA_CORPUS``, ``./corpus``).
    index_dir: the built index (``--index``, ``NOTES_QA_INDEX``, ``./index``).
    model_dir: a local sentence-transformers model folder (``--model``,
        ``NOTES_QA_MODEL``); None means the bundled all-MiniLM-L6-v2.
    cache_dir: exported query encoders and BEIR indexes (``NOTES_QA_CACHE``).
    chunker: chunking settings.
    precision: ``fp32`` (the model's own vectors) or ``int8`` (quantized: about 2x
        faster, close but not equal vectors), from ``--encoder`` or
        ``NOTES_QA_ENCODER``. None keeps what the index was built with
        (``fp32`` for a new index). Part of the index fingerprint.
    follow_links: also read notes through links that lead outside the corpus
        folder (``--follow-links``, ``NOTES_QA_FOLLOW_LINKS=1``); by default they
        are skipped with a warning, so a link to a private file never ends up
        in the index.
    """

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    model_dir: Path | None = None
    cache_dir: Path = Path.home() / ".cache" / "notes-qa"
    chunker: ChunkerSettings = ChunkerSettings()
    precision: str | None = None
    follow_links: bool = False

    def __post_init__(self) -> None:
        if self.precision is not None and self.precision not in PRECISIONS:
            from .errors import UsageError

            raise UsageError(f"unknown encoder {self.precision!r}; use one of: {', '.join(PRECISIONS)}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        model = env.get("NOTES_QA_MODEL")
        return cls(
            corpus_dir=Path(env.get("NOTES_QA_CORPUS") or "corpus"),
            index_dir=Path(env.get("NOTES_QA_INDEX") or "index"),
            model_dir=Path(model) if model else None,
            cache_dir=_default_cache_dir(env),
            precision=env.get("NOTES_QA_ENCODER") or None,
            follow_links=env.get("NOTES_QA_FOLLOW_LINKS", "").strip().lower() in ("1", "true", "yes", "on"),
        )

    def with_overrides(
        self,
        *,
        corpus_dir: Path | None = None,
        index_dir: Path | None = None,
        model_dir: Path | None = None,
        precision: str | None = None,
        follow_links: bool | None = None,
    ) -> Settings:
        return replace(
            self,
            corpus_dir=corpus_dir or self.corpus_dir,
            index_dir=index_dir or self.index_dir,
            model_dir=model_dir or self.model_dir,
            precision=precision or self.precision,
            follow_links=self.follow_links if follow_links is None else follow_links,
        )
