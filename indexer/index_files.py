"""The on-disk index: a folder of builds and a ``current`` link to the live one.

    index/
      current -> build-20261128T120000-1234   (swapped atomically)
      build-.../manifest.json   what was built, how, and the sha256 of every file
      build-.../chunks.jsonl    one chunk per line
      build-.../vectors.faiss   chunk vectors (FAISS; absent when Milvus holds them, see below)
      build-.../lines.npy       vectors of single lines, for snippets
      build-.../lines.json      which file and line each row of lines.npy is
      build-.../lines.faiss     the same vectors in a FAISS index, when there are too many to scan
      build-.../chunk_lines*.npy  the lines.npy row of each line of each chunk (chunk_lines.py)
      build-.../bm25.*          keyword index (numpy arrays + JSON)
      .lock                     held while a build runs

What is checked, and when (``manifest.py`` reads and writes the manifest):

- on every load (``load_index``, so every cold ``ask``): each file's size
  against the manifest (``check_files``: a ``stat``, no read), before FAISS or
  numpy opens it; then the FAISS file's structure (``store/layout.py``), the
  ``.npy`` headers, dtypes and shapes, the JSON, and the counts against each
  other. A truncated, extended, missing or swapped file is refused; a byte
  changed in place inside the vectors is not (hashing every file on every
  ``ask`` read the whole index twice);
- by ``notes-qa verify`` and before a build reuses the previous build's vectors:
  each file's full sha256 against the manifest (``verify_files``), which
  catches any changed byte. Builds written before sizes were recorded have no
  ``file_sizes``: their files are hashed on load, as before.

Nothing is unpickled and nothing in the folder is executed.

A build made with ``--store URI`` keeps its chunk and line vectors in two Milvus
collections the manifest names (``vector_db``, :mod:`indexer.milvus_index`)
instead of ``vectors.faiss``; every other file (chunks, lines, BM25) stays here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from .chunk_lines import ROWS_FILE, ChunkLines, chunk_lines_of, load_chunk_lines
from .chunk_table import EAGER_CHUNKS, ChunkTable, chunk_from_json
from .errors import REBUILD, IndexFileError, os_reason
from .fileio import check_size, sha256_file
from .manifest import FORMAT, FORMAT_VERSION, MANIFEST, MAX_JSON_BYTES, Manifest, read_manifest
from .models import Chunk
from .safe_read import open_text, read_text

if TYPE_CHECKING:
    import numpy as np

    from .keyword import KeywordIndex
    from .vector_index import VectorIndex

__all__ = [
    "CURRENT", "FORMAT", "LINE_INDEX", "FORMAT_VERSION", "MANIFEST", "LineRow", "LoadedIndex", "Manifest", "chunk_to_json",
    "check_files", "current_build", "load_index", "read_chunk_lines", "read_line_rows", "read_manifest", "sha256_file",
    "verify_files",
]

CURRENT = "current"
#: The line vectors in a FAISS index of their own, written when there are too many to scan (``choose_spec``).
LINE_INDEX = "lines.faiss"


def current_build(index_root: Path) -> Path | None:
    """The live build folder, or None if nothing was built yet."""
    link = index_root / CURRENT
    if not link.is_symlink() and not link.is_dir():
        return None
    target = link.resolve()
    return target if target.is_dir() else None


@dataclass(frozen=True)
class LineRow:
    path: str
    line: int  # 1-based
    key: str  # hash of the embedded text, to reuse the vector


#: Bump when how a note's line rows, keys or vectors are derived changes (``line_plan.snippet_lines``,
#: ``line_vectors.line_sources``, ``line_key``, ``pool_all``): a build takes a note's rows from a previous
#: build only if that build recorded the same rules in ``lines.json`` (older builds record none).
LINE_RULES = 1


@dataclass(frozen=True)
class KeptLine:
    """A row of a previous build's ``lines.json``, and whether its line was embedded on its own."""

    path: str
    line: int
    key: str
    own: bool


class LineRows(Sequence[LineRow]):
    """The rows of ``lines.json`` (which note line each line vector is), read when first used."""

    __slots__ = ("_folder", "_count", "_rows")

    def __init__(self, folder: Path, count: int) -> None:
        self._folder = folder
        self._count = count
        self._rows: tuple[LineRow, ...] | None = None

    def read(self) -> tuple[LineRow, ...]:
        """Every row (``lines.json`` is read and checked the first time)."""
        if self._rows is None:
            rows = read_line_rows(self._folder)
            if len(rows) != self._count:
                raise IndexFileError("lines.npy does not match lines.json", fix=REBUILD)
            self._rows = rows
        return self._rows

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> LineRow: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[LineRow]: ...

    def __getitem__(self, index: int | slice) -> LineRow | Sequence[LineRow]:
        return self.read()[index]

    def __iter__(self) -> Iterator[LineRow]:
        return iter(self.read())


@dataclass(frozen=True)
class LoadedIndex:
    folder: Path
    manifest: Manifest
    chunks: Sequence[Chunk]  # a ChunkTable: parsed when used (all of them when loaded, up to EAGER_CHUNKS)
    store: VectorIndex  # the chunk vectors: the FAISS store, or a Milvus collection
    keyword: KeywordIndex
    line_vectors: np.ndarray  # memory-mapped when loaded with mmap
    line_rows: Sequence[LineRow]  # LineRows: read when used (when loaded, up to EAGER_CHUNKS chunks)
    chunk_lines: ChunkLines
    #: Where the best lines are searched: the line vectors' Milvus collection, or ``lines.faiss`` when the
    #: build has many lines (None: scan ``line_vectors`` itself).
    line_index: VectorIndex | None = None


def verify_files(folder: Path, manifest: Manifest) -> None:
    """Check every file of the build against the manifest's sha256 (reads every byte of the index)."""
    for name in manifest.files:
        _verify_file(folder, manifest, name)


def _verify_file(folder: Path, manifest: Manifest, name: str) -> None:
    path = folder / name
    try:
        actual = sha256_file(path)
    except OSError as exc:
        raise IndexFileError(f"index file {path} is missing or unreadable ({os_reason(exc)})", fix=REBUILD) from exc
    if actual != manifest.files[name]:
        raise IndexFileError(f"index file {path} does not match its checksum (damaged or edited)", fix=REBUILD)


def check_files(folder: Path, manifest: Manifest) -> None:
    """The load-time check: every file of the build has the size the manifest recorded (no file is read).

    A file the manifest records no size for (builds that predate sizes) is
    checked against its sha256 instead. Contents are checked by the readers
    (structure, headers, shapes, counts); a full check is :func:`verify_files`.
    """
    for name in manifest.files:
        expected = manifest.file_sizes.get(name)
        if expected is None:
            _verify_file(folder, manifest, name)
            continue
        check_size(folder / name, expected)


def chunk_to_json(chunk: Chunk) -> dict[str, Any]:
    return {
        "id": chunk.id,
        "path": chunk.path,
        "heading": list(chunk.heading),
        "start_line": chunk.start_line,
        "end_line": chunk.end_line,
        "text": chunk.text,
        "lines": list(chunk.line_numbers),
    }


def read_chunk_lines(folder: Path) -> tuple[tuple[Chunk, ...], tuple[str, ...]]:
    """The chunks of ``chunks.jsonl``, each checked, and each one's line of that file (without its newline)."""
    chunks = []
    lines = []
    number = 0
    try:
        with open_text(folder / "chunks.jsonl") as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise IndexFileError(f"chunks.jsonl line {number} is not JSON", fix=REBUILD) from exc
                chunks.append(chunk_from_json(record, number))
                lines.append(line.rstrip("\n"))
    except UnicodeDecodeError as exc:
        raise IndexFileError(f"chunks.jsonl line {number + 1} is not UTF-8", fix=REBUILD) from exc
    except OSError as exc:
        raise IndexFileError(f"chunks.jsonl in {folder} is unreadable ({os_reason(exc)})", fix=REBUILD) from exc
    return tuple(chunks), tuple(lines)


def read_line_rows(folder: Path) -> tuple[LineRow, ...]:
    return _read_lines(folder)[0]


def read_kept_lines(folder: Path) -> tuple[tuple[LineRow, ...], tuple[KeptLine, ...] | None]:
    """``lines.json``'s rows, and the same with each one's own-or-pooled flag when that build derived them
    under :data:`LINE_RULES` (else None: a build then derives every note's rows again)."""
    rows, payload = _read_lines(folder)
    own = payload.get("own")
    if payload.get("rules") != LINE_RULES or not isinstance(own, list):
        return rows, None
    flags = [False] * len(rows)
    try:
        for row in own:
            if not isinstance(row, int) or row < 0:
                raise IndexError(row)
            flags[row] = True
    except IndexError as exc:
        raise IndexFileError(f"lines.json in {folder} is invalid", fix=REBUILD) from exc
    return rows, tuple(KeptLine(r.path, r.line, r.key, flag) for r, flag in zip(rows, flags))


def _read_lines(folder: Path) -> tuple[tuple[LineRow, ...], dict[str, Any]]:
    try:
        payload = json.loads(read_text(folder / "lines.json", MAX_JSON_BYTES))
        paths = payload["paths"]
        rows = tuple(LineRow(paths[p], int(n), str(k)) for p, n, k in payload["rows"])
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise IndexFileError(f"lines.json in {folder} is invalid", fix=REBUILD) from exc
    return rows, payload  # a dict: anything else fails at payload["paths"]


def load_index(index_root: Path, *, mmap: bool = True) -> LoadedIndex:
    """Open the live build under ``index_root``, checking it first (file sizes, then structure: see the module)."""
    import numpy as np

    from .keyword import KeywordIndex
    from .store import StoreError, VectorStore

    folder = current_build(index_root)
    if folder is None:
        raise IndexFileError(f"no index at {index_root}", fix="build it with: notes-qa index")
    manifest = read_manifest(folder)
    check_files(folder, manifest)
    required = {"chunks.jsonl", "lines.npy", "lines.json", "bm25.vocab.json"}
    if manifest.vector_db is None:
        required.add("vectors.faiss")
    if not required <= set(manifest.files):
        raise IndexFileError("the index manifest is invalid (file list)", fix=REBUILD)
    chunks = ChunkTable.read(folder / "chunks.jsonl", manifest.counts.chunks)
    dim = manifest.model.dim
    store: VectorIndex
    if manifest.vector_db is None:
        try:
            store = VectorStore.load(folder / "vectors.faiss", mmap=mmap)
        except StoreError as exc:
            raise IndexFileError(str(exc).rstrip("."), fix=REBUILD) from exc
        if store.ntotal != len(chunks) or store.dim != dim:
            raise IndexFileError(
                f"vectors.faiss holds {store.ntotal} vectors of {store.dim} dimensions, "
                f"expected {len(chunks)} of {dim}",
                fix=REBUILD,
            )
    keyword = KeywordIndex.load(folder)
    if keyword.num_docs != len(chunks):
        raise IndexFileError("the keyword index does not match the chunks", fix=REBUILD)
    try:
        line_vectors = np.load(folder / "lines.npy", allow_pickle=False, mmap_mode="r" if mmap else None)
    except (OSError, ValueError) as exc:
        raise IndexFileError(f"lines.npy in {folder} is unreadable", fix=REBUILD) from exc
    line_rows = LineRows(folder, manifest.counts.lines)
    if line_vectors.dtype != np.float32 or line_vectors.shape != (len(line_rows), dim):
        raise IndexFileError("lines.npy does not match lines.json", fix=REBUILD)
    if len(chunks) <= EAGER_CHUNKS:  # a small index is checked whole when loaded
        line_rows.read()
    if ROWS_FILE in manifest.files:
        chunk_lines = load_chunk_lines(folder, len(chunks), len(line_rows))
    else:  # a build from before chunk_lines.npy
        chunk_lines = chunk_lines_of(chunks, [(row.path, row.line) for row in line_rows])
    line_index: VectorIndex | None = None
    if manifest.vector_db is not None:
        store, line_index = _open_milvus(manifest, chunks, line_rows)
    elif LINE_INDEX in manifest.files:
        try:
            line_index = VectorStore.load(folder / LINE_INDEX, mmap=mmap)
        except StoreError as exc:
            raise IndexFileError(str(exc).rstrip("."), fix=REBUILD) from exc
        if line_index.ntotal != len(line_rows) or line_index.dim != dim:
            raise IndexFileError(f"{LINE_INDEX} does not match lines.npy", fix=REBUILD)
    return LoadedIndex(folder, manifest, chunks, store, keyword, line_vectors, line_rows, chunk_lines, line_index)


def _open_milvus(
    manifest: Manifest, chunks: Sequence[Chunk], line_rows: Sequence[LineRow]
) -> tuple[VectorIndex, VectorIndex]:
    """The chunk and line collections the manifest names (pymilvus is imported here, not before)."""
    from .milvus_index import MilvusIndex, connect

    record = manifest.vector_db
    assert record is not None
    client = connect(record.uri)
    dim = manifest.model.dim
    chunk_index = MilvusIndex(client, record.chunks, [c.text_key() for c in chunks], dim)
    line_index = MilvusIndex(client, record.lines, [row.key for row in line_rows], dim)
    return chunk_index, line_index

