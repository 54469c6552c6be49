"""``notes-qa verify``: the full check a load skips, every byte of the index and of the notes hashed.

A load checks sizes and structure only (``index_files``); this command hashes
every file of the live build and every note, and compares them with the
manifest's sha256, so a byte changed in place (bit rot, an edit that kept a
note's stat) is found too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .corpus import read_corpus
from .errors import IndexFileError
from .index_files import current_build, load_index, read_manifest, verify_files

if TYPE_CHECKING:
    from .settings import Settings

#: The fix for notes that differ from the index: an incremental build re-reads them.
REFRESH = "refresh it with: notes-qa index"


@dataclass(frozen=True)
class VerifyReport:
    folder: Path
    files: int  # index files hashed
    notes: int  # notes hashed


def verify_index(settings: Settings) -> VerifyReport:
    """Hash every index file and every note against the live build's manifest.

    An ``IndexFileError`` (exit 4) names the first mismatch: a damaged index
    file (fix: a full rebuild) or a note changed, added or removed since the
    build (fix: ``notes-qa index``).
    """
    folder = current_build(settings.index_dir)
    if folder is None:
        raise IndexFileError(f"no index at {settings.index_dir}", fix="build it with: notes-qa index")
    manifest = read_manifest(folder)
    verify_files(folder, manifest)
    load_index(settings.index_dir, mmap=True)  # the structure, shapes and counts a load checks
    corpus = read_corpus(settings.corpus_dir, max_file_bytes=settings.chunker.max_file_bytes,
                         skip=(settings.index_dir,), follow_links=settings.follow_links)
    diff = manifest.notes_diff(corpus.hashes())
    differ = [(rel, "changed") for rel in diff.modified] + [(rel, "new") for rel in diff.added] + \
        [(rel, "removed") for rel in diff.deleted]
    if differ:
        rel, what = differ[0]
        more = f" ({len(differ) - 1} more notes differ)" if len(differ) > 1 else ""
        raise IndexFileError(f"note {rel} is {what} since the index was built{more}", fix=REFRESH)
    return VerifyReport(folder, len(manifest.files), len(corpus.notes))


__all__ = ["REFRESH", "VerifyReport", "verify_index"]
