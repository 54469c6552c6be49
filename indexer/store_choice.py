"""Which engine holds an index's vectors: FAISS files in the build folder (the default) or Milvus.

``notes-qa index --store URI`` (or ``$NOTES_QA_STORE``) picks Milvus: ``URI`` is a
local file ending in ``.db`` (Milvus Lite, the embedded engine of the
``milvus-lite`` package) or ``http(s)://host:19530`` (a Milvus server or
cluster); ``faiss`` picks the FAISS files again. The build records the choice in
the manifest (:class:`~indexer.manifest.StoreRecord`), so questions need no flag.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from .errors import UsageError
from .manifest import StoreRecord

__all__ = ["FAISS", "collection_names", "normalise_store_uri", "store_record"]

#: ``--store faiss``: the vectors in FAISS files beside the other index files.
FAISS: Final = "faiss"


def normalise_store_uri(uri: str) -> str:
    """``faiss``, an absolute ``.db`` path or a server URL; a usage error for anything else."""
    uri = uri.strip()
    if uri.lower() == FAISS:
        return FAISS
    if uri.startswith(("http://", "https://", "tcp://", "grpc://")):
        return uri.rstrip("/")
    if uri.endswith(".db"):
        return str(Path(uri).expanduser().resolve())
    raise UsageError(
        f"--store {uri!r} is neither faiss, a Milvus Lite file ending in .db nor a server URL",
        fix="use e.g. --store ./notes.db or --store http://localhost:19530",
    )


def collection_names(index_root: Path, fingerprint: str) -> tuple[str, str]:
    """The chunk and line collections of the index at ``index_root`` for a build ``fingerprint``.

    Another index folder or another model/chunker/encoder gets other collections, so two
    indexes can share one Milvus without touching each other's keys.
    """
    import hashlib

    tag = hashlib.sha256(f"{Path(index_root).resolve()}\0{fingerprint}".encode()).hexdigest()[:16]
    return f"notesqa_{tag}_chunks", f"notesqa_{tag}_lines"


def store_record(index_root: Path, fingerprint: str, store: str | None, previous: StoreRecord | None) -> StoreRecord | None:
    """Where a new build's vectors go (None: FAISS files); ``store`` None keeps the ``previous`` build's choice."""
    if store is None:
        if previous is None:
            return None
        uri = previous.uri
    else:
        uri = normalise_store_uri(store)
        if uri == FAISS:
            return None
    chunks, lines = collection_names(index_root, fingerprint)
    return StoreRecord("milvus", uri, chunks, lines)
