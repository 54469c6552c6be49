"""``manifest.json``: what a build holds and how it was made, read, validated and written here only.

The manifest is the index's contract with every reader (``ask``, the TUI, the
MCP server, ``watch``, the next build). :class:`Manifest` is its frozen, typed
form: :func:`read_manifest` checks a file and gives one, :meth:`Manifest.to_json`
gives back exactly the JSON the build writes. Fields older builds did not write
(the encoder's variant, the store spec, a few model and count fields) read as
their defaults, so an index built before this module opens unchanged.

Anything wrong (not JSON, a field of the wrong type, a file name with a path,
a format this notes-qa does not read) is an ``IndexFileError`` whose fix is a
full rebuild.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeGuard

from .embedder import EmbedderChoice
from .errors import REBUILD, IndexFileError, os_reason
from .keyword import KeywordParams
from .safe_read import read_text
from .settings import ChunkerSettings

if TYPE_CHECKING:
    from .disk import Disk
    from .model_files import ModelInfo
    from .store import StoreSpec

FORMAT = "notes-qa-index"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
#: manifest.json and lines.json are read whole; a bigger one is not ours.
MAX_JSON_BYTES = 1 << 30


class _Invalid(Exception):
    """A field of the manifest is missing or of the wrong type (``str(exc)`` names it)."""


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise _Invalid(what)


def _object(value: Any, what: str) -> dict[str, Any]:
    _require(isinstance(value, dict), what)
    return dict(value)


def _is_int(value: object) -> TypeGuard[int]:
    return type(value) is int  # not a bool


def _int(record: Mapping[str, Any], key: str, what: str, default: int | None = None) -> int:
    value = record.get(key, default)
    _require(isinstance(value, int) and not isinstance(value, bool), what)
    return int(value)


def _optional_int(record: Mapping[str, Any], key: str, what: str) -> int | None:
    return None if record.get(key) is None else _int(record, key, what)


def _str(record: Mapping[str, Any], key: str, what: str, default: str | None = None) -> str:
    value = record.get(key, default)
    _require(isinstance(value, str), what)
    return str(value)


def _frozen(value: Any) -> Any:
    """A read-only deep copy of a JSON value (objects become ``MappingProxyType``, lists tuples)."""
    if isinstance(value, dict):
        return MappingProxyType({str(k): _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _thawed(value: Any) -> Any:
    """The JSON value a :func:`_frozen` one was made from."""
    if isinstance(value, Mapping):
        return {k: _thawed(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thawed(v) for v in value]
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
        record = _object(raw, "model")
        dim = _int(record, "dim", "model")
        _require(dim > 0, "model")
        return cls(
            id=_str(record, "id", "model id", ""),
            name=_str(record, "name", "model name", ""),
            path=_str(record, "path", "model path", ""),
            fingerprint=_str(record, "fingerprint", "model fingerprint", ""),
            dim=dim,
            max_tokens=_optional_int(record, "max_tokens", "model max_tokens"),
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
            raise _Invalid(f"note {rel!r}")
        sha256, size = raw.get("sha256"), raw.get("size", 0)
        if not isinstance(sha256, str) or not _is_int(size):
            raise _Invalid(f"note {rel!r}")
        if "mtime_ns" not in raw:  # no stat: an older build, or a racily clean note
            return cls(sha256, size)
        mtime, ctime, inode = raw.get("mtime_ns"), raw.get("ctime_ns"), raw.get("inode")
        if not (_is_int(mtime) and _is_int(ctime) and _is_int(inode)):
            raise _Invalid(f"note {rel!r}")
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
        record = _object(raw, "counts")
        return cls(_int(record, "files", "counts", 0), _int(record, "chunks", "counts"),
                   _int(record, "lines", "counts", 0))

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
        record = _object(raw, "build")
        return cls(_int(record, "embedded", "build", 0), _int(record, "reused", "build", 0),
                   _str(record, "mode", "build", ""))

    def to_json(self) -> dict[str, Any]:
        return {"embedded": self.embedded, "reused": self.reused, "mode": self.mode}


def _chunker_from_json(raw: Any) -> ChunkerSettings:
    record = _object(raw, "chunker")
    default = ChunkerSettings()
    return ChunkerSettings(**{name: _int(record, name, "chunker", getattr(default, name))
                              for name in default.to_json()})


def _keyword_from_json(raw: Any) -> KeywordParams:
    record = _object(raw, "keyword")
    default = KeywordParams()
    k1, b = record.get("k1", default.k1), record.get("b", default.b)
    _require(all(isinstance(x, int | float) and not isinstance(x, bool) for x in (k1, b)), "keyword")
    return KeywordParams(k1=float(k1), b=float(b), method=_str(record, "method", "keyword", default.method))


def _store_from_json(raw: Any) -> StoreSpec | None:
    if raw is None:  # written by builds before the store spec was recorded
        return None
    from .store import StoreError, StoreSpec

    try:
        return StoreSpec.from_json(raw)
    except StoreError as exc:
        raise _Invalid("store") from exc


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
        record = _object(raw, "vector_db")
        _require(record.get("backend") == "milvus", "vector_db backend")
        return cls("milvus", _str(record, "uri", "vector_db"), _str(record, "chunks", "vector_db"),
                   _str(record, "lines", "vector_db"))

    def to_json(self) -> dict[str, Any]:
        return {"backend": self.backend, "uri": self.uri, "chunks": self.chunks, "lines": self.lines}


@dataclass(frozen=True)
class NotesDiff:
    """How the notes now differ from those a build indexed (corpus-relative paths, sorted)."""

    changed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.changed or self.added or self.removed)


@dataclass(frozen=True)
class Manifest:
    """A build's ``manifest.json`` (see the module's docstring)."""

    model: ModelRecord
    fingerprint: str  # of the model, chunker, keyword and encoder settings: another one means a full rebuild
    counts: Counts
    #: note path (relative to the corpus) -> how it was when indexed
    notes: Mapping[str, NoteRecord]
    #: file of the build folder -> its sha256, checked by ``notes-qa verify`` and before a build reuses vectors
    files: Mapping[str, str]
    #: How the chunks were embedded and how questions are (the ``"encoder"`` section).
    encoder: EmbedderChoice = EmbedderChoice("sentence-transformers", "fp32", "sentence-transformers")
    chunker: ChunkerSettings = ChunkerSettings()
    keyword: KeywordParams = KeywordParams()
    store: StoreSpec | None = None
    #: Milvus holds the vectors (None: the FAISS files of the build, ``vectors.faiss``).
    vector_db: StoreRecord | None = None
    corpus_path: str = ""
    build: BuildRecord = BuildRecord()
    created_by: str = ""
    built_at: str | None = None
    #: file of the build folder -> its size in bytes, checked on every load (empty for builds that predate
    #: it: their files are checked against ``files``' sha256 on load instead)
    file_sizes: Mapping[str, int] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    #: sections of the file this version does not know, kept so that to_json gives them back
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        # Read-only all the way down (a copy: the caller's mappings stay theirs).
        object.__setattr__(self, "notes", MappingProxyType(dict(self.notes)))
        object.__setattr__(self, "files", MappingProxyType(dict(self.files)))
        object.__setattr__(self, "file_sizes", MappingProxyType(dict(self.file_sizes)))
        object.__setattr__(self, "extra", _frozen(_thawed(self.extra)))

    @property
    def encoder_variant(self) -> str:
        """The precision the index was embedded with (``fp32`` for indexes that predate the setting)."""
        return self.encoder.precision

    def note_hashes(self) -> dict[str, str]:
        """path -> sha256 of every indexed note."""
        return {rel: note.sha256 for rel, note in self.notes.items()}

    def notes_diff(self, hashes: Mapping[str, str]) -> NotesDiff:
        """The notes changed, added and removed since this build (``hashes``: path -> sha256 now)."""
        old = self.note_hashes()
        return NotesDiff(
            changed=tuple(sorted(k for k in hashes.keys() & old.keys() if hashes[k] != old[k])),
            added=tuple(sorted(hashes.keys() - old.keys())),
            removed=tuple(sorted(old.keys() - hashes.keys())),
        )

    @classmethod
    def from_json(cls, raw: Any, folder: Path) -> Manifest:
        """Validate the parsed ``manifest.json`` of the build in ``folder``."""
        try:
            return cls._parse(raw, folder)
        except _Invalid as exc:
            raise IndexFileError(f"the index manifest is invalid ({exc})", fix=REBUILD) from None

    @classmethod
    def _parse(cls, raw: Any, folder: Path) -> Manifest:
        _require(isinstance(raw, dict), "not an object")
        _require(raw.get("format") == FORMAT, "not a notes-qa index")
        version = raw.get("format_version")
        _require(isinstance(version, int), "format_version")
        if version > FORMAT_VERSION:
            raise IndexFileError(
                f"the index at {folder} has format {version}, newer than this notes-qa reads ({FORMAT_VERSION})",
                fix=f"upgrade notes-qa or {REBUILD}",
            )
        if version < FORMAT_VERSION:
            raise IndexFileError(
                f"the index at {folder} has format {version}, older than this notes-qa reads ({FORMAT_VERSION})",
                fix=REBUILD,
            )
        model = ModelRecord.from_json(raw.get("model"))
        files = _object(raw.get("files"), "files")
        _require(all(isinstance(v, str) for v in files.values()), "files")
        for name in files:
            _require(isinstance(name, str) and "/" not in name and not name.startswith("."), f"file name {name!r}")
        sizes = _object(raw.get("file_sizes", {}), "file_sizes")
        for name, size in sizes.items():
            _require(name in files and isinstance(size, int) and not isinstance(size, bool) and size >= 0,
                     f"file size of {name!r}")
        counts = Counts.from_json(raw.get("counts"))
        corpus = _object(raw.get("corpus"), "corpus")
        notes = {str(rel): NoteRecord.from_json(v, str(rel)) for rel, v in _object(corpus.get("files"), "corpus").items()}
        fingerprint = raw.get("fingerprint")
        _require(isinstance(fingerprint, str), "fingerprint")
        known = {"format", "format_version", "created_by", "built_at", "model", "encoder", "chunker", "keyword",
                 "fingerprint", "corpus", "counts", "build", "store", "vector_db", "files", "file_sizes"}
        return cls(
            model=model,
            fingerprint=str(fingerprint),
            counts=counts,
            notes=notes,
            files=files,
            encoder=EmbedderChoice.from_json(_object(raw.get("encoder", {}), "encoder")),
            chunker=_chunker_from_json(raw.get("chunker", {})),
            keyword=_keyword_from_json(raw.get("keyword", {})),
            store=_store_from_json(raw.get("store")),
            vector_db=None if raw.get("vector_db") is None else StoreRecord.from_json(raw["vector_db"]),
            corpus_path=_str(corpus, "path", "corpus", ""),
            build=BuildRecord.from_json(raw.get("build", {})),
            created_by=_str(raw, "created_by", "created_by", ""),
            built_at=None if raw.get("built_at") is None else _str(raw, "built_at", "built_at"),
            format_version=version,
            file_sizes=sizes,
            extra={k: v for k, v in raw.items() if k not in known},
        )

    def to_json(self) -> dict[str, Any]:
        """The manifest as the build writes it (keys in the order builds always wrote them)."""
        out: dict[str, Any] = {
            "format": FORMAT,
            "format_version": self.format_version,
            "created_by": self.created_by,
            **({} if self.built_at is None else {"built_at": self.built_at}),
            "model": self.model.to_json(),
            "encoder": self.encoder.to_json(),
            "chunker": self.chunker.to_json(),
            "keyword": self.keyword.to_json(),
            "fingerprint": self.fingerprint,
            "corpus": {"path": self.corpus_path, "files": {rel: n.to_json() for rel, n in self.notes.items()}},
            "counts": self.counts.to_json(),
            "build": self.build.to_json(),
        }
        if self.store is not None:
            out["store"] = self.store.to_json()
        if self.vector_db is not None:
            out["vector_db"] = self.vector_db.to_json()
        out["files"] = dict(self.files)
        if self.file_sizes:
            out["file_sizes"] = dict(self.file_sizes)
        out.update(_thawed(self.extra))
        return out


def read_manifest(folder: Path) -> Manifest:
    """The manifest of the build in ``folder``, validated (``IndexFileError`` with a rebuild fix if not)."""
    path = folder / MANIFEST
    try:
        raw = json.loads(read_text(path, MAX_JSON_BYTES))
    except FileNotFoundError as exc:
        raise IndexFileError(f"the index at {folder} has no manifest.json", fix=REBUILD) from exc
    except OSError as exc:
        raise IndexFileError(f"the index manifest {path} is unreadable ({os_reason(exc)})", fix=REBUILD) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexFileError(f"the index manifest {path} is unreadable ({exc.__class__.__name__})", fix=REBUILD) from exc
    return Manifest.from_json(raw, folder)


def write_manifest(folder: Path, manifest: Manifest, disk: Disk) -> None:
    """Write ``manifest.json`` into the build folder ``folder`` (after every file it lists)."""
    disk.write_json(folder / MANIFEST, manifest.to_json())
