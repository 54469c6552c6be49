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
import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .embedder import EmbedderChoice
from .errors import REBUILD, IndexFileError, os_reason
from .keyword import KeywordParams
from .manifest_records import (
    RACY_NS,
    BuildRecord,
    Counts,
    Invalid,
    ModelRecord,
    NoteRecord,
    NoteStat,
    StoreRecord,
    chunker_from_json,
    frozen,
    is_int,
    json_object,
    json_str,
    keyword_from_json,
    require,
    store_from_json,
    thawed,
)
from .note_changes import NoteChanges
from .note_table import NOTE_FILES, NoteArrays, NoteTable, RecordedNotes
from .safe_read import read_text
from .settings import ChunkerSettings

if TYPE_CHECKING:
    from .disk import Disk
    from .store import StoreSpec

__all__ = [
    "FORMAT", "FORMAT_VERSION", "MANIFEST", "RACY_NS", "BuildRecord", "Counts", "Manifest", "ModelRecord", "NoteRecord",
    "NoteChanges", "NoteStat", "StoreRecord", "read_manifest", "write_manifest",
]

FORMAT = "notes-qa-index"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
#: manifest.json and lines.json are read whole; a bigger one is not ours.
MAX_JSON_BYTES = 1 << 30


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
    #: The note records are in the build's note files (``note_table.NOTE_FILES``), not in this JSON: what
    #: builds write since 2026-12-03; an index built before keeps them inline and reads as it did.
    notes_apart: bool = False
    #: sections of the file this version does not know, kept so that to_json gives them back
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        # Read-only all the way down (a copy: the caller's mappings stay theirs).
        if not isinstance(self.notes, RecordedNotes):  # read-only already
            object.__setattr__(self, "notes", MappingProxyType(dict(self.notes)))
        object.__setattr__(self, "files", MappingProxyType(dict(self.files)))
        object.__setattr__(self, "file_sizes", MappingProxyType(dict(self.file_sizes)))
        object.__setattr__(self, "extra", frozen(thawed(self.extra)))


    def note_hashes(self) -> dict[str, str]:
        """path -> sha256 of every indexed note."""
        if isinstance(self.notes, RecordedNotes):
            return self.notes.hashes()
        return {rel: note.sha256 for rel, note in self.notes.items()}

    def notes_diff(self, hashes: Mapping[str, str]) -> NoteChanges:
        """The notes changed, added and removed since this build (``hashes``: path -> sha256 now)."""
        old = self.note_hashes()
        return NoteChanges(
            added=tuple(sorted(hashes.keys() - old.keys())),
            modified=tuple(sorted(k for k in hashes.keys() & old.keys() if hashes[k] != old[k])),
            deleted=tuple(sorted(old.keys() - hashes.keys())),
        )

    @classmethod
    def from_json(cls, raw: Any, folder: Path) -> Manifest:
        """Validate the parsed ``manifest.json`` of the build in ``folder``."""
        try:
            return cls._parse(raw, folder)
        except Invalid as exc:
            raise IndexFileError(f"the index manifest is invalid ({exc})", fix=REBUILD) from None

    @classmethod
    def _parse(cls, raw: Any, folder: Path) -> Manifest:
        require(isinstance(raw, dict), "not an object")
        require(raw.get("format") == FORMAT, "not a notes-qa index")
        version = raw.get("format_version")
        require(isinstance(version, int), "format_version")
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
        files = json_object(raw.get("files"), "files")
        require(all(isinstance(v, str) for v in files.values()), "files")
        for name in files:
            require(isinstance(name, str) and "/" not in name and not name.startswith("."), f"file name {name!r}")
        sizes = json_object(raw.get("file_sizes", {}), "file_sizes")
        for name, size in sizes.items():
            require(name in files and isinstance(size, int) and not isinstance(size, bool) and size >= 0,
                     f"file size of {name!r}")
        counts = Counts.from_json(raw.get("counts"))
        corpus = json_object(raw.get("corpus"), "corpus")
        apart = "files" not in corpus
        notes: Mapping[str, NoteRecord]
        if apart:  # the records are in the note files, which the manifest lists like every file
            count = corpus.get("notes")
            if not (is_int(count) and count >= 0 and all(name in files for name in NOTE_FILES)):
                raise Invalid("corpus")
            notes = NoteArrays.load(folder, count, sizes)
        else:
            notes = NoteTable.parsed(json_object(corpus.get("files"), "corpus"))
        fingerprint = raw.get("fingerprint")
        require(isinstance(fingerprint, str), "fingerprint")
        known = {"format", "format_version", "created_by", "built_at", "model", "encoder", "chunker", "keyword",
                 "fingerprint", "corpus", "counts", "build", "store", "vector_db", "files", "file_sizes"}
        return cls(
            model=model,
            fingerprint=str(fingerprint),
            counts=counts,
            notes=notes,
            files=files,
            encoder=EmbedderChoice.from_json(json_object(raw.get("encoder", {}), "encoder")),
            chunker=chunker_from_json(raw.get("chunker", {})),
            keyword=keyword_from_json(raw.get("keyword", {})),
            store=store_from_json(raw.get("store")),
            vector_db=None if raw.get("vector_db") is None else StoreRecord.from_json(raw["vector_db"]),
            corpus_path=json_str(corpus, "path", "corpus", ""),
            build=BuildRecord.from_json(raw.get("build", {})),
            created_by=json_str(raw, "created_by", "created_by", ""),
            built_at=None if raw.get("built_at") is None else json_str(raw, "built_at", "built_at"),
            format_version=version,
            file_sizes=sizes,
            notes_apart=apart,
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
            "corpus": {"path": self.corpus_path, "notes": len(self.notes)} if self.notes_apart else
                      {"path": self.corpus_path, "files": {rel: n.to_json() for rel, n in self.notes.items()}},
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
        out.update(thawed(self.extra))
        return out


#: The last manifest read, by the identity of its file: a cold ``ask`` reads the live build's manifest
#: for the freshness check and again to load the index (100,000 note records: ~0.5 s each). Build
#: folders are written once, before they go live, so a file with the same path, device, inode, size
#: and mtime is the same manifest; one modified within ``RACY_NS`` of being read is not remembered
#: (an edit in place in the same clock tick would keep size and mtime, as git's index knows).
_last: tuple[tuple[str, int, int, int, int], Manifest] | None = None


def read_manifest(folder: Path) -> Manifest:
    """The manifest of the build in ``folder``, validated (``IndexFileError`` with a rebuild fix if not)."""
    global _last
    path = folder / MANIFEST
    try:
        info = os.stat(path)
        key = (str(path), info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
    except OSError:
        key = None  # read_text says why
    if key is not None and _last is not None and _last[0] == key and stat.S_ISREG(info.st_mode):
        return _last[1]
    try:
        raw = json.loads(read_text(path, MAX_JSON_BYTES))
    except FileNotFoundError as exc:
        raise IndexFileError(f"the index at {folder} has no manifest.json", fix=REBUILD) from exc
    except OSError as exc:
        raise IndexFileError(f"the index manifest {path} is unreadable ({os_reason(exc)})", fix=REBUILD) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexFileError(f"the index manifest {path} is unreadable ({exc.__class__.__name__})", fix=REBUILD) from exc
    manifest = Manifest.from_json(raw, folder)
    if key is not None and stat.S_ISREG(info.st_mode) and info.st_mtime_ns < time.time_ns() - RACY_NS:
        _last = (key, manifest)
    return manifest


def write_manifest(folder: Path, manifest: Manifest, disk: Disk) -> None:
    """Write ``manifest.json`` into the build folder ``folder`` (after every file it lists)."""
    disk.write_json(folder / MANIFEST, manifest.to_json())
