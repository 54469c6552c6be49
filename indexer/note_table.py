"""A build's note records (path -> :class:`~indexer.manifest_records.NoteRecord`), each made when first asked for.

Two forms, one interface (:class:`RecordedNotes`): :class:`NoteArrays`, the note files a build writes
(:data:`NOTE_FILES`), and :class:`NoteTable`, the records inline in the ``corpus.files`` object of
an older manifest. A cold ``ask`` on a 100,000-note vault spent 0.34 s turning every note's JSON
record into a ``NoteRecord`` (and its ``NoteStat``), then compared each with the note's ``stat``
now. The freshness check needs neither object: ``unchanged_hash`` compares the stored stat with the
stat directly. Up to :data:`EAGER_NOTES` inline notes every record is made (and checked) when the
manifest is read, so a damaged record of a small index is found there, as before; above it, where
the record is used.
"""

from __future__ import annotations

import array
import io
import json
import os
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .errors import REBUILD, IndexFileError
from .fileio import atomic_write, check_size
from .manifest_records import Invalid, NoteRecord, NoteStat
from .safe_read import read_bytes, read_text

if TYPE_CHECKING:
    import numpy as np

    from .disk import Disk

#: A note's stat as the freshness check compares it: (size, mtime_ns, ctime_ns, inode).
StatKey = tuple[int, int, int, int]


def stat_key(info: os.stat_result) -> StatKey:
    """The :data:`StatKey` of ``info``."""
    return info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino


#: Up to this many notes, every record is made and checked when the manifest is read.
EAGER_NOTES: Final = 2_000


class RecordedNotes(Mapping[str, NoteRecord]):
    """note path -> :class:`NoteRecord` (read-only), and what the freshness check asks of them."""

    __slots__ = ()

    @property
    def reread(self) -> frozenset[str] | None:
        """The notes whose reading warned (not valid UTF-8, lines cut), which the next build reads again so
        that it warns again; None when the build did not record it (notes inline in an older manifest)."""
        return None

    def hashes(self) -> dict[str, str]:
        """path -> recorded sha256 of every note."""
        raise NotImplementedError

    def unchanged_hash(self, rel: str, now: StatKey) -> str | None:
        """The recorded sha256 of ``rel`` if ``now`` (its stat now) is the stat recorded with it, else None."""
        raise NotImplementedError


class NoteTable(RecordedNotes):
    """The records over the parsed ``corpus.files`` object of an older manifest."""

    __slots__ = ("_raw", "_made")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self._raw = raw
        self._made: dict[str, NoteRecord] = {}

    @classmethod
    def parsed(cls, raw: Mapping[str, Any]) -> NoteTable:
        """The table of ``raw``; every record checked now when there are at most :data:`EAGER_NOTES`."""
        table = cls(raw)
        if len(raw) <= EAGER_NOTES:
            for rel in raw:
                table[rel]
        return table

    def __getitem__(self, rel: str) -> NoteRecord:
        record = self._made.get(rel)
        if record is None:
            try:
                record = NoteRecord.from_json(self._raw[rel], str(rel))
            except Invalid as exc:
                raise IndexFileError(f"the index manifest is invalid ({exc})", fix=REBUILD) from None
            self._made[rel] = record
        return record

    def __contains__(self, rel: object) -> bool:
        return rel in self._raw

    def __len__(self) -> int:
        return len(self._raw)

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def hashes(self) -> dict[str, str]:
        """path -> recorded sha256 of every note."""
        out = {}
        for rel, raw in self._raw.items():
            sha256 = raw.get("sha256") if isinstance(raw, dict) else None
            out[rel] = sha256 if isinstance(sha256, str) else self[rel].sha256  # self[rel] says what is wrong
        return out

    def unchanged_hash(self, rel: str, now: StatKey) -> str | None:
        """The recorded sha256 of ``rel`` if ``now`` (its stat now) is the stat recorded with it, else None."""
        raw = self._raw.get(rel)
        if not isinstance(raw, dict):
            return None
        if (raw.get("size"), raw.get("mtime_ns"), raw.get("ctime_ns"), raw.get("inode")) == now:
            sha256 = raw.get("sha256")
            return sha256 if isinstance(sha256, str) else None
        return None


def unchanged_hash_of(known: Mapping[str, NoteRecord]) -> Callable[[str, StatKey], str | None]:
    """The sha256 ``known`` records for a note if its stat then is the stat now, else None (read the note):
    as one function, chosen once, to call per note."""
    if isinstance(known, RecordedNotes):
        return known.unchanged_hash

    def of_records(rel: str, now: StatKey) -> str | None:
        record = known.get(rel)
        if record is None or (s := record.stat) is None or (s.size, s.mtime_ns, s.ctime_ns, s.inode) != now:
            return None
        return record.sha256

    return of_records


#: A build's note records outside manifest.json (which then says ``"corpus": {"notes": N, ...}``):
#: the paths in order (JSON, beside ``"reread"``: see :attr:`RecordedNotes.reread`), each note's
#: stat as recorded (int64 rows: size, mtime_ns, ctime_ns,
#: inode, 1 when the stat is recorded / 0 when not) and each note's sha256 (32 bytes a row).
NOTE_PATHS, NOTE_STATS, NOTE_HASHES = "notes.json", "notes.stat.npy", "notes.sha256.npy"
NOTE_FILES: Final = (NOTE_PATHS, NOTE_STATS, NOTE_HASHES)
#: The stat table again, with the stats a freshness check found for notes it had to read and found
#: unchanged (a checkout or a sync rewrites files without changing them): written beside the build's own
#: files after it is live, not one of them (no sha256 in the manifest), and used instead of
#: :data:`NOTE_STATS` when it fits the build; as git refreshes the stat data of its index.
NOTE_STATS_SEEN: Final = "notes.stat.seen.npy"


def write_note_files(folder: Path, notes: Mapping[str, NoteRecord], disk: Disk, reread: Collection[str] = ()) -> None:
    """Write ``notes`` as :data:`NOTE_FILES` into the build folder ``folder`` (``reread``: see
    :attr:`RecordedNotes.reread`; each of them a note of ``notes``)."""
    import numpy as np

    paths = list(notes)
    records = [notes[rel] for rel in paths]
    stats = np.array([(r.size, 0, 0, 0, 0) if (s := r.stat) is None else (r.size, s.mtime_ns, s.ctime_ns, s.inode, 1)
                      for r in records], dtype=np.int64).reshape(len(records), 5)
    if any(len(r.sha256) != 64 for r in records):
        raise ValueError("a note's sha256 is not 64 hex digits")
    hashes = np.frombuffer(bytes.fromhex("".join(r.sha256 for r in records)), dtype=np.uint8).reshape(len(records), 32)
    if any(rel not in notes for rel in reread):
        raise ValueError("a note to read again is not a note of the build")
    disk.write_json(folder / NOTE_PATHS, {"paths": paths, "reread": sorted(reread)}, indent=None)
    disk.save_npy(folder / NOTE_STATS, stats)
    disk.save_npy(folder / NOTE_HASHES, hashes)


def _seen_stats(folder: Path, stats: np.ndarray) -> np.ndarray | None:
    """The build's :data:`NOTE_STATS_SEEN`, if it is there and fits ``stats`` (its own stat table): same
    shape, the same size for every note (a note seen unchanged has the bytes, so the size, recorded);
    else None, and the build's own table is used."""
    import numpy as np

    try:
        seen = np.load(io.BytesIO(read_bytes(folder / NOTE_STATS_SEEN, 4096 + stats.nbytes)), allow_pickle=False)
    except (OSError, ValueError):  # none (the usual case), a FIFO or link, too large, not an .npy
        return None
    if seen.dtype != np.int64 or seen.shape != stats.shape or not np.array_equal(seen[:, 0], stats[:, 0]):
        return None
    if len(seen) and not np.isin(seen[:, 4], (0, 1)).all():
        return None
    checked: np.ndarray = seen
    return checked


class NoteArrays(RecordedNotes):
    """The records over a build's :data:`NOTE_FILES`.

    Reading 100,000 notes' records this way takes about 0.03 s, against 0.3 s for the same records
    inline in manifest.json (22 MB of JSON), which every freshness check read.
    """

    __slots__ = ("_paths", "_stats", "_hashes", "_rows", "_stat_rows", "_hexed", "_reread")

    def __init__(self, paths: list[str], stats: np.ndarray, hashes: np.ndarray,
                 reread: frozenset[str] | None = None) -> None:
        self._reread = reread
        self._paths = paths
        self._stats = stats
        self._hashes = hashes
        self._rows: dict[str, int] | None = None
        self._stat_rows: list[list[int]] | None = None
        self._hexed: str | None = None

    def _sha256(self, row: int) -> str:
        if self._hexed is None:  # every hash as one hex string (6.4 MB for 100,000 notes), sliced per note
            self._hexed = str(self._hashes.tobytes().hex())
        return self._hexed[64 * row : 64 * row + 64]

    @classmethod
    def load(cls, folder: Path, count: int, sizes: Mapping[str, int]) -> NoteArrays:
        """The table in ``folder``, of ``count`` notes, its files of the ``sizes`` the manifest records; checked."""
        import numpy as np

        def invalid(what: str) -> IndexFileError:
            return IndexFileError(f"the index's note table is invalid ({what})", fix=REBUILD)

        for name in NOTE_FILES:  # as every load checks every file, before anything is read
            if name in sizes:
                check_size(folder / name, sizes[name])
        try:
            listed = json.loads(read_text(folder / NOTE_PATHS, 1 << 30))
            paths, reread = listed["paths"], listed.get("reread")
            stats = np.load(folder / NOTE_STATS, allow_pickle=False)
            hashes = np.load(folder / NOTE_HASHES, allow_pickle=False)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise invalid(exc.__class__.__name__) from exc
        if not (isinstance(paths, list) and len(paths) == count and all(isinstance(p, str) for p in paths)):
            raise invalid("paths")
        distinct = set(paths)
        if len(distinct) != count:
            raise invalid("paths")
        if reread is not None and not (isinstance(reread, list) and all(isinstance(p, str) for p in reread)
                                       and distinct.issuperset(reread)):
            raise invalid("notes to read again")
        if not (stats.dtype == np.int64 and stats.shape == (count, 5) and hashes.dtype == np.uint8
                and hashes.shape == (count, 32)):
            raise invalid("array shapes")
        if count and (int(stats[:, 0].min()) < 0 or not np.isin(stats[:, 4], (0, 1)).all()):
            raise invalid("stats")
        seen = _seen_stats(folder, stats)
        return cls(paths, stats if seen is None else seen, hashes, None if reread is None else frozenset(reread))

    @property
    def reread(self) -> frozenset[str] | None:
        return self._reread

    def record_seen(self, folder: Path, seen: Mapping[str, NoteStat]) -> bool:
        """Write :data:`NOTE_STATS_SEEN` into the build folder ``folder`` (this table's): the table with the
        stat of each note of ``seen``, a note read now and found with its recorded hash, its stat old
        enough to trust. A cache: False (and nothing written) when the folder cannot be written."""
        import numpy as np

        table = self._stats.copy()
        for rel, info in seen.items():
            row = self._row(rel)
            if row is None or info.size != int(table[row, 0]):  # the same bytes have the recorded size
                continue
            table[row] = (info.size, info.mtime_ns, info.ctime_ns, info.inode, 1)
        if np.array_equal(table, self._stats):
            return False
        data = io.BytesIO()
        np.save(data, table, allow_pickle=False)
        try:
            atomic_write(folder / NOTE_STATS_SEEN, data.getvalue())
        except OSError:  # a read-only index, a build folder removed meanwhile
            return False
        self._stats, self._stat_rows = table, None
        return True

    def _row(self, rel: str) -> int | None:
        if self._rows is None:
            self._rows = dict(zip(self._paths, range(len(self._paths)), strict=True))
        return self._rows.get(rel)

    def __getitem__(self, rel: str) -> NoteRecord:
        row = self._row(rel)
        if row is None:
            raise KeyError(rel)
        size, mtime, ctime, inode, recorded = (int(v) for v in self._stats[row])
        return NoteRecord(self._sha256(row), size, NoteStat(size, mtime, ctime, inode) if recorded else None)

    def __contains__(self, rel: object) -> bool:
        return isinstance(rel, str) and self._row(rel) is not None

    def __len__(self) -> int:
        return len(self._paths)

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def hashes(self) -> dict[str, str]:
        """path -> recorded sha256 of every note."""
        return {path: self._sha256(row) for row, path in enumerate(self._paths)}

    def sha256_at(self, row: int) -> str:
        """The recorded sha256 of the table's ``row``-th note."""
        return self._sha256(row)

    def same_stats(self, rels: list[str], stats: array.array[int]) -> np.ndarray | None:
        """Per note of ``rels``, whether its stat now (``stats``: 4 int64 a note, its :data:`StatKey`) is
        the one recorded with it, compared in one pass; None unless ``rels`` are the recorded paths in the
        recorded order (a build records the notes in the order the folder walk finds them)."""
        import numpy as np

        if rels != self._paths:
            return None
        now = np.frombuffer(stats, dtype=np.int64).reshape(len(rels), 4)
        recorded = self._stats
        same: np.ndarray = (recorded[:, 4] == 1) & (recorded[:, :4] == now).all(axis=1)
        return same

    def unchanged_hash(self, rel: str, now: StatKey) -> str | None:
        """The recorded sha256 of ``rel`` if ``now`` (its stat now) is the stat recorded with it, else None."""
        row = self._row(rel)
        if row is None:
            return None
        if self._stat_rows is None:  # the columns as lists: a freshness check compares one row per note
            self._stat_rows = self._stats.T.tolist()
        size, mtime, ctime, inode, recorded = self._stat_rows
        if recorded[row] and (size[row], mtime[row], ctime[row], inode[row]) == now:
            return self._sha256(row)
        return None
