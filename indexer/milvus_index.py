"""Vectors in a Milvus collection behind the :class:`~indexer.vector_index.VectorIndex` protocol.

A collection holds one row per distinct embedded text: the primary key ``pk`` is
the text's :func:`~indexer.text_keys.text_key` and ``vector`` its L2-normalised
float32 vector, searched by inner product (``IP`` on a ``FLAT`` index: the
scores are FAISS's cosines). Within one build fingerprint a key always names the
same vector, so a build only inserts the keys it lacks and, once the new build
is live, deletes the keys no build uses any more (:func:`sync_collection`,
:func:`prune_collection`): nothing the live index reads is ever overwritten.

Rows (a chunk's row in ``chunks.jsonl``, a line's in ``lines.json``) map to keys
through the local files (:class:`MilvusIndex` is given ``keys[row]``); several
rows may share a key (the same text twice), and a search expands each key found
into its rows.

pymilvus (and milvus-lite for ``.db`` files) are imported only when a Milvus
store is opened.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .errors import IndexFileError, IndexWriteError, NotesQAError
from .vector_index import Candidates, _check_ids

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from .manifest import StoreRecord

__all__ = ["MAX_TOPK", "MilvusIndex", "clean_up", "connect", "prune_collection", "reason", "sync_collection",
           "write_collections"]

#: Milvus's largest ``limit`` for one search (its ``topk`` bound).
MAX_TOPK: Final = 16_384
#: Rows per insert or query call (well under Milvus's 64 MB message limit for 384-d vectors).
_BATCH: Final = 2_000
INSTALL_FIX: Final = "install it with: pip install 'notes-qa[milvus]'"


def connect(uri: str) -> Any:
    """A ``pymilvus.MilvusClient`` for ``uri`` (a ``.db`` file: Milvus Lite; ``http://host:19530``: a server)."""
    import os

    # gRPC's C core writes its own log lines to stderr (e.g. "too_many_pings" when a long-lived TUI or
    # MCP server idles); read once when grpc loads, so set before pymilvus imports it. A user's setting wins.
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:
        raise NotesQAError("the Milvus store needs the milvus extra, which is not installed", fix=INSTALL_FIX) from exc
    if uri.endswith(".db"):
        try:
            import milvus_lite  # noqa: F401  (the embedded engine pymilvus starts for a .db file)
        except ImportError as exc:
            raise NotesQAError("a .db Milvus store needs milvus-lite, which is not installed",
                               fix=INSTALL_FIX) from exc
    import logging

    # Their chatter (iterator timestamps, a traceback when a .db file is locked) is not ours to show:
    # what went wrong reaches the user as one NotesQAError.
    logging.getLogger("pymilvus").setLevel(logging.ERROR)
    logging.getLogger("milvus_lite").setLevel(logging.CRITICAL)
    try:
        return MilvusClient(uri)
    except Exception as exc:  # pymilvus raises MilvusException and assorted connection errors
        # IndexWriteError: rebuilding the index cannot cure it (service.open_or_repair does not try).
        if uri.endswith(".db") and Path(uri).exists():  # milvus-lite logs the cause (its lock) and says only this
            raise IndexWriteError(
                f"cannot open the Milvus Lite file {uri} ({reason(exc)}); Milvus Lite serves one process at a time",
                fix="stop the other notes-qa using it (watch, tui, mcp), or use a Milvus server: --store http://host:19530",
                reason=reason(exc),
            ) from exc
        raise IndexWriteError(f"cannot connect to the Milvus store {uri} ({reason(exc)})",
                              fix="check that the server is running (or the .db file is writable)",
                              reason=reason(exc)) from exc


def reason(exc: BaseException) -> str:
    text = str(getattr(exc, "message", "") or exc).strip().splitlines()
    return (text[0] if text else exc.__class__.__name__)[:200]


def _quoted(keys: Iterable[str]) -> str:
    return json.dumps(list(keys))


def create_collection(client: Any, name: str, dim: int) -> None:
    """An empty collection ``name`` of ``dim``-d vectors keyed by text key (replacing none)."""
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    params = client.prepare_index_params()
    params.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
    client.create_collection(name, schema=schema, index_params=params, consistency_level="Strong")


def collection_keys(client: Any, name: str) -> set[str]:
    """Every key stored in collection ``name``."""
    keys: set[str] = set()
    client.load_collection(name)  # a collection another process made starts released (not searchable)
    iterator = client.query_iterator(name, batch_size=_BATCH, filter="", output_fields=["pk"])
    try:
        while batch := iterator.next():
            keys.update(str(row["pk"]) for row in batch)
    finally:
        iterator.close()
    return keys


def sync_collection(client: Any, name: str, dim: int, vectors: Mapping[str, npt.NDArray[np.float32]]) -> int:
    """Make collection ``name`` hold every key of ``vectors``: insert those it lacks; return how many.

    Keys already there are left alone (same key, same text, same vector), so a
    reader of the live build never sees a vector change under it.
    """
    if not client.has_collection(name):
        create_collection(client, name, dim)
    else:
        _check_dim(client, name, dim)
    missing = sorted(vectors.keys() - collection_keys(client, name))
    for start in range(0, len(missing), _BATCH):
        part = missing[start : start + _BATCH]
        client.upsert(name, [{"pk": k, "vector": vectors[k].tolist()} for k in part])
    client.flush(name)
    return len(missing)


def prune_collection(client: Any, name: str, keep: Iterable[str]) -> int:
    """Delete from collection ``name`` every key not in ``keep``; return how many."""
    stale = sorted(collection_keys(client, name) - set(keep))
    for start in range(0, len(stale), _BATCH):
        client.delete(name, ids=stale[start : start + _BATCH])
    return len(stale)


def write_collections(
    record: StoreRecord, dim: int, chunks: Mapping[str, npt.NDArray[np.float32]],
    lines: Mapping[str, npt.NDArray[np.float32]],
) -> None:
    """A build's ``dim``-d vectors (text key -> vector) into its two collections: the keys they lack are inserted."""
    client = connect(record.uri)
    try:
        for name, vectors in ((record.chunks, chunks), (record.lines, lines)):
            sync_collection(client, name, dim, vectors)
    except NotesQAError:
        raise
    except Exception as exc:  # pymilvus raises MilvusException and assorted connection errors
        raise IndexWriteError(f"cannot write the vectors to the Milvus store {record.uri} ({reason(exc)}); "
                              "the previous index is kept", fix="check the store, then run: notes-qa index",
                              reason=reason(exc)) from exc


def clean_up(new: StoreRecord | None, old: StoreRecord | None, chunk_keys: set[str], line_keys: set[str]) -> str | None:
    """After a build is live: delete the keys it does not use, drop the previous build's other collections.

    Returns a warning if that failed: the new build is live either way, and leftover keys are never
    returned by a search (the next build deletes them).
    """
    try:
        if new is not None:
            client = connect(new.uri)
            prune_collection(client, new.chunks, chunk_keys)
            prune_collection(client, new.lines, line_keys)
        if old is not None and old != new:
            client = connect(old.uri)
            keep = {new.chunks, new.lines} if new is not None and new.uri == old.uri else set()
            for name in sorted({old.chunks, old.lines} - keep):
                client.drop_collection(name)
    except Exception as exc:  # noqa: BLE001  pymilvus raises many kinds; this clean-up must not fail the build
        return f"could not clean up the Milvus store ({exc.__class__.__name__}); unused vectors are left in it"
    return None


def _check_dim(client: Any, name: str, dim: int) -> None:
    fields = client.describe_collection(name).get("fields", [])
    dims = [int(f.get("params", {}).get("dim", -1)) for f in fields if f.get("name") == "vector"]
    if dims != [dim]:
        raise IndexFileError(f"the Milvus collection {name} holds vectors of {dims[0] if dims else '?'} dimensions, "
                             f"the index needs {dim}", fix="rebuild with: notes-qa index --full --store URI")


class MilvusIndex:
    """The rows of one index (``keys[row]``: the row's text key) searched in a Milvus collection."""

    def __init__(self, client: Any, collection: str, keys: Sequence[str], dim: int) -> None:
        try:
            if not client.has_collection(collection):
                raise IndexFileError(f"the Milvus collection {collection} is missing",
                                     fix="rebuild with: notes-qa index --full --store URI")
            _check_dim(client, collection, dim)
            client.load_collection(collection)
        except NotesQAError:
            raise
        except Exception as exc:  # pymilvus raises MilvusException and assorted connection errors
            raise IndexFileError(f"opening the Milvus collection {collection} failed ({reason(exc)})") from exc
        self._client = client
        self._name = collection
        self._dim = dim
        self._keys: list[str] = list(keys)
        self._rows: dict[str, list[int]] = {}
        self._reindex()
        self._fresh = 0  # keys made by add() without keys
        # Keys the rows do not use (a build that stopped before its clean-up) can outrank ours: a search
        # asks for that many more, so the k best rows still come back.
        self._slack = max(16, self._stored() - len(self._rows))

    def _stored(self) -> int:
        try:
            return int(self._client.query(self._name, filter="", output_fields=["count(*)"])[0]["count(*)"])
        except Exception as exc:
            raise IndexFileError(f"reading the Milvus collection {self._name} failed ({reason(exc)})") from exc

    def _reindex(self) -> None:
        self._rows = {}
        for row, key in enumerate(self._keys):
            self._rows.setdefault(key, []).append(row)

    @property
    def collection(self) -> str:
        return self._name

    @property
    def ntotal(self) -> int:
        return len(self._keys)

    @property
    def dim(self) -> int:
        return self._dim

    #: The deepest search one call can do: a searcher asks for at most this many (``indexer.search``).
    max_k: Final = MAX_TOPK

    def search(
        self, queries: npt.NDArray[np.float32], k: int, allowed_ids: npt.NDArray[np.int64] | None = None
    ) -> Candidates:
        import numpy as np

        if isinstance(k, bool) or k < 0 or queries.ndim != 2 or queries.shape[1] != self.dim:
            raise IndexFileError(f"cannot search {queries.shape} queries for k={k} in {self.dim}-d vectors")
        ids = np.full((len(queries), k), -1, dtype=np.int64)
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        allowed = None if allowed_ids is None else set(_check_ids(allowed_ids, self.ntotal).tolist())
        if k == 0 or self.ntotal == 0 or (allowed is not None and not allowed) or not len(queries):
            return Candidates(ids, scores)
        keys = sorted({self._keys[r] for r in allowed}) if allowed is not None else None
        # k distinct keys give at least k rows; keys the rows do not use are skipped (see _slack).
        limit = min(MAX_TOPK, k + (0 if keys is not None else self._slack))
        params: dict[str, Any] = {"metric_type": "IP"}
        try:
            found = self._client.search(
                self._name, data=[q.tolist() for q in np.asarray(queries, dtype=np.float32)], limit=limit,
                filter="" if keys is None else f"pk in {_quoted(keys)}", output_fields=["pk"], search_params=params,
            )
        except Exception as exc:
            raise IndexFileError(f"searching the Milvus collection {self._name} failed ({reason(exc)})") from exc
        for q, hits in enumerate(found):
            pairs = [
                (row, float(hit["distance"]))
                for hit in hits
                for row in self._rows.get(str(hit["id"] if "id" in hit else hit["pk"]), ())
                if allowed is None or row in allowed
            ]
            pairs.sort(key=lambda p: (-p[1], p[0]))
            pairs = pairs[:k]
            ids[q, : len(pairs)] = [p[0] for p in pairs]
            scores[q, : len(pairs)] = [p[1] for p in pairs]
        return Candidates(ids, scores)

    def fetch(self, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        import numpy as np

        rows = _check_ids(ids, self.ntotal)
        wanted = sorted({self._keys[r] for r in rows.tolist()})
        vectors: dict[str, list[float]] = {}
        try:
            for start in range(0, len(wanted), _BATCH):
                part = wanted[start : start + _BATCH]
                for record in self._client.query(self._name, filter=f"pk in {_quoted(part)}",
                                                 output_fields=["pk", "vector"]):
                    vectors[str(record["pk"])] = record["vector"]
        except Exception as exc:
            raise IndexFileError(f"reading the Milvus collection {self._name} failed ({reason(exc)})") from exc
        if len(vectors) != len(wanted):
            raise IndexFileError(f"the Milvus collection {self._name} lacks {len(wanted) - len(vectors)} vectors",
                                 fix="rebuild with: notes-qa index --full --store URI")
        out = np.zeros((len(rows), self.dim), dtype=np.float32)
        for i, row in enumerate(rows.tolist()):
            out[i] = vectors[self._keys[row]]
        return out

    def add(
        self, ids: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32], keys: Sequence[str] | None = None
    ) -> None:
        """Append rows ``ids`` (the next rows) with ``vectors`` stored under ``keys`` (fresh keys if None)."""
        import numpy as np

        ids = np.asarray(ids, dtype=np.int64)
        if not np.array_equal(ids, np.arange(self.ntotal, self.ntotal + len(ids))):
            raise IndexFileError(f"new ids must be the next rows, {self.ntotal} onwards")
        if vectors.shape != (len(ids), self.dim):
            raise IndexFileError(f"expected {len(ids)} vectors of {self.dim} dimensions, got {vectors.shape}")
        if keys is None:
            keys = [f"row-{id(self):x}-{self._fresh + i}" for i in range(len(ids))]
            self._fresh += len(ids)
        new = {key: vector for key, vector in zip(keys, np.asarray(vectors, dtype=np.float32))}
        for start in range(0, len(new), _BATCH):
            part = list(new.items())[start : start + _BATCH]
            self._client.upsert(self._name, [{"pk": key, "vector": v.tolist()} for key, v in part])
        self._client.flush(self._name)
        self._keys.extend(keys)
        self._reindex()

    def remove(self, ids: npt.NDArray[np.int64]) -> None:
        """Drop rows ``ids`` (later rows move down); keys no row uses any more are deleted from the collection."""
        drop = set(_check_ids(ids, self.ntotal).tolist())
        gone = {self._keys[r] for r in drop}
        self._keys = [key for row, key in enumerate(self._keys) if row not in drop]
        self._reindex()
        unused = sorted(gone - self._rows.keys())
        if unused:
            self._client.delete(self._name, ids=unused)
