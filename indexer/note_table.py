"""The manifest's notes (``corpus.files``), each record made when first asked for.

A cold ``ask`` on a 100,000-note vault spent 0.34 s turning every note's JSON
record into a :class:`~indexer.manifest_records.NoteRecord` (and its
``NoteStat``), then compared each with the note's ``stat`` now. The freshness
check needs neither object: :func:`recorded_hash` compares the parsed JSON with
the stat directly. Up to :data:`EAGER_NOTES` notes every record is made (and
checked) when the manifest is read, so a damaged record of a small index is
found there, as before; above it, where the record is used.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any, Final

from .errors import REBUILD, IndexFileError
from .manifest_records import Invalid, NoteRecord

#: Up to this many notes, every record is made and checked when the manifest is read.
EAGER_NOTES: Final = 2_000


class NoteTable(Mapping[str, NoteRecord]):
    """note path -> :class:`NoteRecord`, over the parsed ``corpus.files`` object of a manifest (read-only)."""

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

    def unchanged_hash(self, rel: str, info: os.stat_result) -> str | None:
        """The recorded sha256 of ``rel`` if ``info`` (its stat now) is the stat recorded with it, else None."""
        raw = self._raw.get(rel)
        if not isinstance(raw, dict):
            return None
        if (raw.get("mtime_ns") == info.st_mtime_ns and raw.get("size") == info.st_size
                and raw.get("inode") == info.st_ino and raw.get("ctime_ns") == info.st_ctime_ns):
            sha256 = raw.get("sha256")
            return sha256 if isinstance(sha256, str) else None
        return None


def recorded_hash(known: Mapping[str, NoteRecord], rel: str, info: os.stat_result) -> str | None:
    """The sha256 ``known`` records for ``rel`` if its stat then is ``info``, else None (read the note)."""
    if isinstance(known, NoteTable):
        return known.unchanged_hash(rel, info)
    record = known.get(rel)
    if record is None or record.stat is None or not record.stat.matches(info):
        return None
    return record.sha256
