"""The records a manifest is made of, each read from and written to its JSON section.

``indexer.manifest`` puts them together into the ``Manifest``; the small readers
here (``json_int``, ``json_str``, ...) raise ``Invalid`` naming the field, which
the manifest turns into one ``IndexFileError``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeGuard

from .keyword import KeywordParams
from .settings import ChunkerSettings

if TYPE_CHECKING:
    from .model_files import ModelInfo
    from .store import StoreSpec


class Invalid(Exception):
    """A field of the manifest is missing or of the wrong type (``str(exc)`` names it)."""


def require(condition: bool, what: str) -> None:
    if not condition:
        raise Invalid(what)


def json_object(value: Any, what: str) -> dict[str, Any]:
    require(isinstance(value, dict), what)
    return dict(value)


def is_int(value: object) -> TypeGuard[int]:
    return type(value) is int  # not a bool


def json_int(record: Mapping[str, Any], key: str, what: str, default: int | None = None) -> int:
    value = record.get(key, default)
    require(isinstance(value, int) and not isinstance(value, bool), what)
    return int(value)


def json_optional_int(record: Mapping[str, Any], key: str, what: str) -> int | None:
    return None if record.get(key) is None else json_int(record, key, what)


def json_str(record: Mapping[str, Any], key: str, what: str, default: str | None = None) -> str:
    value = record.get(key, default)
    require(isinstance(value, str), what)
    return str(value)


def frozen(value: Any) -> Any:
    """A read-only deep copy of a JSON value (objects become ``MappingProxyType``, lists tuples)."""
    if isinstance(value, dict):
        return MappingProxyType({str(k): frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(frozen(v) for v in value)
    return value


def thawed(value: Any) -> Any:
    """The JSON value a :func:`_frozen` one was made from."""
    if isinstance(value, Mapping):
        return {k: thawed(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thawed(v) for v in value]
    return value


@dataclass(frozen=True)
class ModelRecord:
    """The model the vectors come from (``fingerprint`` hashes its files)."""

    id: str
    name: str
    path: str
    fingerprint: str
    dim: int
    max_tokens: int | None = None

    @classmethod
    def of(cls, model: ModelInfo) -> ModelRecord:
        return cls(model.model_id, model.name, str(model.path), model.fingerprint, model.dim, model.max_tokens)

    @classmethod
    def from_json(cls, raw: Any) -> ModelRecord:
        record = json_object(raw, "model")
        dim = json_int(record, "dim", "model")
        require(dim > 0, "model")
        return cls(
            id=json_str(record, "id", "model id", ""),
            name=json_str(record, "name", "model name", ""),
            path=json_str(record, "path", "model path", ""),
            fingerprint=json_str(record, "fingerprint", "model fingerprint", ""),
            dim=dim,
            max_tokens=json_optional_int(record, "max_tokens", "model max_tokens"),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "name": self.name, "path": self.path,
                               "fingerprint": self.fingerprint, "dim": self.dim}
        if self.max_tokens is not None:
            out["max_tokens"] = self.max_tokens
        return out


#: A note whose modification time is this close to (or after) the moment a build
#: began reading the corpus is "racily clean": it could change again within the
#: same file-system timestamp tick (1 ns on ext4, 2 s on FAT) and keep its stat,
#: so the build records no stat for it and every freshness check hashes it (as
#: git does with entries as new as its index file). The next build records it.
RACY_NS = 2_000_000_000


@dataclass(frozen=True)
class NoteStat:
    """What ``os.stat`` says of a note: when it matches the manifest's, the note is unchanged (as git trusts it)."""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int

    @classmethod
    def of(cls, info: os.stat_result) -> NoteStat:
        return cls(info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)


@dataclass(frozen=True)
class NoteRecord:
    """One note as it was indexed: its hash and size, and its stat when the build could trust it.

    ``stat`` is None in manifests written before stats were recorded and for
    notes modified within ``RACY_NS`` of the build's start: such notes are hashed
    by every freshness check.
    """

    sha256: str
    size: int
    stat: NoteStat | None = None

    @classmethod
    def indexed(cls, sha256: str, stat: NoteStat, *, read_from_ns: int) -> NoteRecord:
        """The record of a note hashed by a build that began reading the corpus at ``read_from_ns`` (epoch ns)."""
        trusted = stat.mtime_ns < read_from_ns - RACY_NS
        return cls(sha256, stat.size, stat if trusted else None)

    def unchanged(self, stat: NoteStat) -> bool:
        """True when ``stat`` (now) proves the note is as indexed, without reading it."""
        return self.stat is not None and self.stat == stat

    @classmethod
    def from_json(cls, raw: Any, rel: str) -> NoteRecord:
        # Written out rather than through _int/_str: a freshness check reads one record per note.
        if not isinstance(raw, dict):
            raise Invalid(f"note {rel!r}")
        sha256, size = raw.get("sha256"), raw.get("size", 0)
        if not isinstance(sha256, str) or not is_int(size):
            raise Invalid(f"note {rel!r}")
        if "mtime_ns" not in raw:  # no stat: an older build, or a racily clean note
            return cls(sha256, size)
        mtime, ctime, inode = raw.get("mtime_ns"), raw.get("ctime_ns"), raw.get("inode")
        if not (is_int(mtime) and is_int(ctime) and is_int(inode)):
            raise Invalid(f"note {rel!r}")
        return cls(sha256, size, NoteStat(size, mtime, ctime, inode))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sha256": self.sha256, "size": self.size}
        if self.stat is not None:
            out.update(mtime_ns=self.stat.mtime_ns, ctime_ns=self.stat.ctime_ns, inode=self.stat.inode)
        return out


@dataclass(frozen=True)
class Counts:
    files: int
    chunks: int
    lines: int

    @classmethod
    def from_json(cls, raw: Any) -> Counts:
        record = json_object(raw, "counts")
        return cls(json_int(record, "files", "counts", 0), json_int(record, "chunks", "counts"),
                   json_int(record, "lines", "counts", 0))

    def to_json(self) -> dict[str, Any]:
        return {"files": self.files, "chunks": self.chunks, "lines": self.lines}


@dataclass(frozen=True)
class BuildRecord:
    """How the build went: texts embedded, vectors reused, and why (``BuildReport.reason``)."""

    embedded: int = 0
    reused: int = 0
    mode: str = ""

    @classmethod
    def from_json(cls, raw: Any) -> BuildRecord:
        record = json_object(raw, "build")
        return cls(json_int(record, "embedded", "build", 0), json_int(record, "reused", "build", 0),
                   json_str(record, "mode", "build", ""))

    def to_json(self) -> dict[str, Any]:
        return {"embedded": self.embedded, "reused": self.reused, "mode": self.mode}


def chunker_from_json(raw: Any) -> ChunkerSettings:
    record = json_object(raw, "chunker")
    default = ChunkerSettings()
    return ChunkerSettings(**{name: json_int(record, name, "chunker", getattr(default, name))
                              for name in default.to_json()})


def keyword_from_json(raw: Any) -> KeywordParams:
    record = json_object(raw, "keyword")
    default = KeywordParams()
    k1, b = record.get("k1", default.k1), record.get("b", default.b)
    require(all(isinstance(x, int | float) and not isinstance(x, bool) for x in (k1, b)), "keyword")
    return KeywordParams(k1=float(k1), b=float(b), method=json_str(record, "method", "keyword", default.method))


def store_from_json(raw: Any) -> StoreSpec | None:
    if raw is None:  # written by builds before the store spec was recorded
        return None
    from .store import StoreError, StoreSpec

    try:
        return StoreSpec.from_json(raw)
    except StoreError as exc:
        raise Invalid("store") from exc


@dataclass(frozen=True)
class StoreRecord:
    """Where the vectors live when not in the build's FAISS files (the ``"vector_db"`` section).

    ``backend`` is ``milvus``; ``uri`` a Milvus Lite ``.db`` file or a server URL;
    ``chunks`` and ``lines`` the collections holding the chunk and line vectors.
    """

    backend: str
    uri: str
    chunks: str
    lines: str

    @classmethod
    def from_json(cls, raw: Any) -> StoreRecord:
        record = json_object(raw, "vector_db")
        require(record.get("backend") == "milvus", "vector_db backend")
        return cls("milvus", json_str(record, "uri", "vector_db"), json_str(record, "chunks", "vector_db"),
                   json_str(record, "lines", "vector_db"))

    def to_json(self) -> dict[str, Any]:
        return {"backend": self.backend, "uri": self.uri, "chunks": self.chunks, "lines": self.lines}
