"""What a new build can take from the previous one: its vectors, keyed by the text they embed.

A vector is reused when the same text is embedded again with the same model,
chunker, keyword and encoder settings (one ``fingerprint`` covers them all);
otherwise, or when the previous build is damaged, everything is embedded again
and ``BuildReport.reason`` says why.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import IndexFileError, NotesQAError
from .index_files import KeptLine, read_chunk_lines, read_kept_lines, verify_files
from .keyword import KeywordParams, KnownTerms, TermsByKey
from .manifest import FORMAT_VERSION, Manifest, read_manifest
from .note_table import RecordedNotes
from .settings import ChunkerSettings

if TYPE_CHECKING:
    import numpy as np

    from .models import Chunk


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


@dataclass(frozen=True)
class Reusable:
    """What a build can take from the previous one."""

    vectors: dict[str, np.ndarray]  # text_key(text) -> its vector; the build adds the vectors it makes
    reason: str  # "incremental", or why everything is embedded again (``BuildReport.reason``)
    #: The previous build's chunks of each note, by (path, sha256 of the note then): a note with the
    #: same path and hash now is cut into the same chunks (same chunker and tokenizer: the fingerprint).
    chunks: Mapping[tuple[str, str], tuple[Chunk, ...]] = field(default_factory=dict)
    #: The BM25 terms of the chunk texts the previous build had (the others are tokenised), when it kept them.
    terms: TermsByKey | None = None
    #: The previous build's ``chunks.jsonl`` line of each of its chunks: an equal chunk is written as that line
    #: (a chunk's line is a function of the chunk alone, its id included, so this saves only the encoding).
    lines: Mapping[Chunk, str] = field(default_factory=dict)
    #: The previous build's line rows of each note, by path, when it derived them under this code's rules
    #: (``index_files.LINE_RULES``): a note whose chunks are reused gets the same rows (``line_plan``).
    line_rows: Mapping[str, tuple[KeptLine, ...]] = field(default_factory=dict)


def reusable_vectors(
    folder: Path | None, fp: str, precision: str, *, full: bool = False, manifest: Manifest | None = None
) -> Reusable:
    """Vectors of the build in ``folder`` (the live one) keyed by the text they embed, if compatible.

    ``fp`` and ``precision`` are the new build's fingerprint and embedding precision; ``full``
    reuses nothing (``--full``); ``manifest`` is the folder's, when the caller has read it already.
    """
    if full:
        return Reusable({}, full_reason(folder))
    return _compatible(folder, fp, precision, manifest)


def _compatible(folder: Path | None, fp: str, precision: str, manifest: Manifest | None) -> Reusable:
    if folder is None:
        return Reusable({}, "no previous index")
    try:
        manifest = manifest or read_manifest(folder)
        if manifest.fingerprint != fp:
            built_with = manifest.encoder.precision
            if built_with != precision:
                return Reusable({}, f"the encoder changed ({built_with} -> {precision}): full rebuild")
            return Reusable({}, "the model or chunker settings changed: full rebuild")
        verify_files(folder, manifest)
        import numpy as np

        from .store import VectorStore

        chunks, chunk_lines = read_chunk_lines(folder)
        if manifest.vector_db is None:
            vectors = VectorStore.load(folder / "vectors.faiss", mmap=False).vectors()
        else:  # a Milvus-backed build: its chunk vectors from the collection
            from .milvus_index import MilvusIndex, connect

            keys = [c.text_key() for c in chunks]
            milvus = MilvusIndex(connect(manifest.vector_db.uri), manifest.vector_db.chunks, keys, manifest.model.dim)
            vectors = milvus.fetch(np.arange(len(chunks), dtype=np.int64))
        rows, kept = read_kept_lines(folder)
        line_vectors = np.load(folder / "lines.npy", allow_pickle=False)
        if len(vectors) != len(chunks) or len(line_vectors) != len(rows):
            return Reusable({}, "the previous index is inconsistent: full rebuild")
    except NotesQAError as exc:
        return Reusable({}, f"the previous index is unusable ({exc.message}): full rebuild")
    except (OSError, ValueError, RuntimeError) as exc:
        return Reusable({}, f"the previous index is unreadable ({exc.__class__.__name__}): full rebuild")
    chunk_keys = [c.text_key() for c in chunks]
    cache = dict(zip(chunk_keys, vectors))
    cache.update({row.key: line_vectors[i] for i, row in enumerate(rows)})
    by_path: dict[str, list[Chunk]] = defaultdict(list)
    for chunk in chunks:
        by_path[chunk.path].append(chunk)
    recorded = manifest.notes.hashes() if isinstance(manifest.notes, RecordedNotes) else {
        path: record.sha256 for path, record in manifest.notes.items()}  # (not a record object per note)
    by_note = {(path, recorded[path]): tuple(held) for path, held in by_path.items() if path in recorded}
    line_rows: dict[str, list[KeptLine]] = defaultdict(list)
    for row in kept or ():
        line_rows[row.path].append(row)
    return Reusable(cache, "incremental", by_note, _known_terms(folder, chunk_keys), dict(zip(chunks, chunk_lines)),
                    {path: tuple(held) for path, held in line_rows.items()})


def _known_terms(folder: Path, chunk_keys: list[str]) -> TermsByKey | None:
    """The previous build's BM25 terms of a chunk text, found by the text's key (None if it kept none)."""
    known = KnownTerms.read(folder, len(chunk_keys))
    return None if known is None else TermsByKey(known, chunk_keys)


def full_reason(folder: Path | None) -> str:
    """Why everything is embedded again when ``full`` was asked for."""
    if folder is None:
        return "no previous index"
    try:
        verify_files(folder, read_manifest(folder))
    except IndexFileError as exc:
        return f"the previous index is unusable ({exc.message}): full rebuild"
    return "full rebuild (--full)"
