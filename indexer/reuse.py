"""What a new build can take from the previous one: its vectors, keyed by the text they embed.

A vector is reused when the same text is embedded again with the same model,
chunker, keyword and encoder settings (one ``fingerprint`` covers them all);
otherwise, or when the previous build is damaged, everything is embedded again
and ``BuildReport.reason`` says why.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import IndexFileError, NotesQAError
from .index_files import read_chunks, read_line_rows, verify_files
from .keyword import KeywordParams
from .manifest import FORMAT_VERSION, read_manifest
from .settings import ChunkerSettings

if TYPE_CHECKING:
    import numpy as np


def fingerprint(
    model_fingerprint: str, chunker: ChunkerSettings, keyword: KeywordParams, precision: str = "fp32"
) -> str:
    """One hash of everything that makes vectors (and keyword scores) comparable between builds."""
    fields: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "model": model_fingerprint,
        "chunker": chunker.to_json(),
        "keyword": keyword.to_json(),
    }
    if precision != "fp32":  # fp32 indexes keep the fingerprint they had before precision was a setting
        fields["encoder"] = precision  # the key hashed since then: renaming it would change every fingerprint
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def text_key(text: str) -> str:
    """The key a vector is reused by: a hash of the text it embeds."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Reusable:
    """What a build can take from the previous one."""

    vectors: dict[str, np.ndarray]  # text_key(text) -> its vector; the build adds the vectors it makes
    reason: str  # "incremental", or why everything is embedded again (``BuildReport.reason``)


def reusable_vectors(folder: Path | None, fp: str, precision: str, *, full: bool = False) -> Reusable:
    """Vectors of the build in ``folder`` (the live one) keyed by the text they embed, if compatible.

    ``fp`` and ``precision`` are the new build's fingerprint and embedding precision; ``full``
    reuses nothing (``--full``).
    """
    if full:
        return Reusable({}, full_reason(folder))
    vectors, reason = _compatible_vectors(folder, fp, precision)
    return Reusable(vectors, reason)


def _compatible_vectors(folder: Path | None, fp: str, precision: str) -> tuple[dict[str, np.ndarray], str]:
    if folder is None:
        return {}, "no previous index"
    try:
        manifest = read_manifest(folder)
        if manifest.fingerprint != fp:
            built_with = manifest.encoder.precision
            if built_with != precision:
                return {}, f"the encoder changed ({built_with} -> {precision}): full rebuild"
            return {}, "the model or chunker settings changed: full rebuild"
        verify_files(folder, manifest)
        import numpy as np

        from .store import VectorStore

        chunks = read_chunks(folder)
        if manifest.vector_db is None:
            vectors = VectorStore.load(folder / "vectors.faiss", mmap=False).vectors()
        else:  # a Milvus-backed build: its chunk vectors from the collection
            from .milvus_index import MilvusIndex, connect

            keys = [text_key(c.embed_text()) for c in chunks]
            milvus = MilvusIndex(connect(manifest.vector_db.uri), manifest.vector_db.chunks, keys, manifest.model.dim)
            vectors = milvus.fetch(np.arange(len(chunks), dtype=np.int64))
        rows = read_line_rows(folder)
        line_vectors = np.load(folder / "lines.npy", allow_pickle=False)
        if len(vectors) != len(chunks) or len(line_vectors) != len(rows):
            return {}, "the previous index is inconsistent: full rebuild"
    except NotesQAError as exc:
        return {}, f"the previous index is unusable ({exc.message}): full rebuild"
    except (OSError, ValueError, RuntimeError) as exc:
        return {}, f"the previous index is unreadable ({exc.__class__.__name__}): full rebuild"
    cache = {text_key(c.embed_text()): vectors[i] for i, c in enumerate(chunks)}
    cache.update({row.key: line_vectors[i] for i, row in enumerate(rows)})
    return cache, "incremental"


def previous_precision(folder: Path | None) -> str | None:
    """The embedding precision of the build in ``folder``, if it has a readable manifest."""
    if folder is None:
        return None
    try:
        return read_manifest(folder).encoder.precision
    except NotesQAError:
        return None


def full_reason(folder: Path | None) -> str:
    """Why everything is embedded again when ``full`` was asked for."""
    if folder is None:
        return "no previous index"
    try:
        verify_files(folder, read_manifest(folder))
    except IndexFileError as exc:
        return f"the previous index is unusable ({exc.message}): full rebuild"
    return "full rebuild (--full)"
