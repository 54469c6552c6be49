"""Find the notes in a folder and read them safely.

:func:`read_corpus` reads and hashes every note (a build). :func:`corpus_hashes`
answers "what is each note's sha256 now?" for a freshness check: a note whose
``os.stat`` (size, mtime_ns, ctime_ns, inode) is the one the manifest recorded
keeps the recorded hash unread, as git trusts its index; only the others are
read and hashed.
"""

from __future__ import annotations

import array
import errno
import hashlib
import operator
import os
import stat
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from .errors import CorpusError
from .manifest import RACY_NS, NoteRecord, NoteStat
from .note_table import NoteArrays, RecordedNotes, StatKey, unchanged_hash_of

NOTE_SUFFIXES = (".md", ".markdown", ".txt")


@dataclass(frozen=True)
class NoteFile:
    rel: str  # path relative to the corpus root, forward slashes
    #: where it is; a str for a note :func:`read_changed_notes` did not read (a ``Path`` per note cost a
    #: 100,000-note refresh 1.4 s)
    path: Path | str
    sha256: str
    size: int
    #: None for a note :func:`read_changed_notes` did not read (its stat is the one recorded with its hash)
    text: str | None
    stat: NoteStat | None = None  # of the file read (fstat of the open file), or the one recorded
    #: not valid UTF-8: undecodable bytes were replaced (and a warning said so)
    lossy: bool = False


@dataclass(frozen=True)
class Corpus:
    root: Path
    notes: tuple[NoteFile, ...]
    warnings: tuple[str, ...]

    def hashes(self) -> dict[str, str]:
        return {note.rel: note.sha256 for note in self.notes}


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _utf8_name(rel: str) -> str | None:
    """None if ``rel`` (from ``os.walk``, undecodable bytes as surrogates) is valid UTF-8, else a printable form."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return None


#: A candidate note: path relative to the root (forward slashes), its path, and its ``lstat`` when
#: the walk saw a plain file (None for a link, which the reader resolves, or a file it could not stat).
Candidate = tuple[str, str, "os.stat_result | None"]


_entry_name = operator.attrgetter("name")


def _candidate_files(
    root: Path, skip: set[Path], warnings: list[str], follow_links: bool = False
) -> list[Candidate]:
    """Note files below ``root`` (see :data:`Candidate`), each folder's files in name order before its
    subfolders, following folder links once (no loops). Strings and the ``os.scandir`` entry's own
    stat, not ``Path``: a freshness check lists every note (100,000 notes: 0.9 s with ``os.walk``,
    ``islink`` and a second ``stat`` per note).

    Links that lead outside ``root`` are skipped with a warning unless
    ``follow_links``: a link to a private file must not land in the index.
    Names that are not valid UTF-8 cannot be stored in the index; they are
    skipped with a warning.
    """
    found: list[Candidate] = []
    seen_dirs: set[str] = set()
    root_real = os.path.realpath(root)
    follow_hint = "; skipped (--follow-links or NOTES_QA_FOLLOW_LINKS=1 indexes it)"

    def unreadable(exc: OSError) -> None:
        where = Path(exc.filename or root)
        rel = where.relative_to(root).as_posix() if where.is_relative_to(root) else str(where)
        warnings.append(f"{rel}/: folder cannot be read ({exc.strerror or exc.__class__.__name__}); skipped")

    def visit(folder: str, prefix: str) -> None:
        real = os.path.realpath(folder)
        if real in seen_dirs or Path(real) in skip:
            return
        if not follow_links and not _inside(real, root_real):
            warnings.append(f"{prefix}: a link to a folder outside the corpus{follow_hint}")
            return
        seen_dirs.add(real)
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=_entry_name)
        except OSError as exc:
            unreadable(exc)
            return
        folders = []
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            try:
                is_folder = entry.is_dir()  # a link to a folder counts (followed once)
            except OSError:
                is_folder = False
            if is_folder:
                shown = _utf8_name(name)
                if shown is None:
                    folders.append(entry)
                else:
                    warnings.append(f"{prefix}{shown}/: folder name is not valid UTF-8; skipped (rename it)")
                continue
            if not name.lower().endswith(NOTE_SUFFIXES):
                continue
            shown = None if name.isascii() else _utf8_name(name)
            if shown is not None:
                warnings.append(f"{prefix}{shown}: file name is not valid UTF-8; skipped (rename it)")
                continue
            path = entry.path
            info: os.stat_result | None = None
            if entry.is_symlink():
                if os.path.exists(path) and not _inside(os.path.realpath(path), root_real) and not follow_links:
                    warnings.append(f"{prefix}{name}: a link to a file outside the corpus{follow_hint}")
                    continue
            else:
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    info = None
            found.append((prefix + name, path, info))
        for entry in folders:
            visit(entry.path, f"{prefix}{entry.name}/")

    visit(os.fspath(root), "")
    return found


class SkippedNote(CorpusError):
    """A note that is not read: ``message`` says why ("a broken link", "not a regular file")."""


def _why_missing(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "a link that loops"
    if path.is_symlink():
        return "a broken link"
    if isinstance(exc, FileNotFoundError):
        return "disappeared while it was being read"
    return f"cannot be read ({exc.strerror or exc.__class__.__name__})"


def read_note_bytes(path: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; ``SkippedNote`` says why not.

    Never reads more than ``max_bytes + 1`` bytes, and never blocks on a FIFO.
    """
    return _read_note(path, max_bytes)[0]


def _read_note(path: Path, max_bytes: int, seen: os.stat_result | None = None) -> tuple[bytes, NoteStat]:
    """:func:`read_note_bytes`, and the stat of the file read, taken before reading it.

    ``seen``: the file's stat from the folder walk (not a link), which saves a ``stat`` per note:
    a file swapped for something else since then is still caught by the ``fstat`` of what is opened.
    """
    if seen is None:
        try:
            seen = os.stat(path)
        except OSError as exc:
            raise SkippedNote(_why_missing(path, exc)) from exc
    if not stat.S_ISREG(seen.st_mode):
        raise SkippedNote("not a regular file")
    if seen.st_size > max_bytes:
        raise SkippedNote(f"{seen.st_size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise SkippedNote(_why_missing(path, exc)) from exc
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):  # swapped for something else since the stat
            raise SkippedNote("not a regular file")
        data = _read_up_to(fd, opened.st_size, max_bytes + 1)
    except OSError as exc:
        raise SkippedNote(f"cannot be read ({exc.strerror or exc.__class__.__name__})") from exc
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise SkippedNote(f"grew over the {max_bytes / 1e6:.0f} MB limit while it was being read")
    return data, NoteStat.of(opened)


def settle_racy(
    records: dict[str, NoteRecord], notes: tuple[NoteFile, ...], max_bytes: int, now_ns: Callable[[], int] = time.time_ns
) -> int:
    """Give a stat to the notes a build recorded without one, because they were modified just before it read
    them (racily clean, see ``RACY_NS``): each is read again, and if its bytes are still the ones indexed,
    the stat of this second read is recorded when it is old enough to trust (as git refreshes racy
    entries). Without this, notes written just before a first build (a clone, a sync, a generated vault)
    are read by every freshness check until they change. Returns how many got a stat."""
    settled = 0
    for note in notes:
        record = records.get(note.rel)
        if record is None or record.stat is not None or note.stat is None:
            continue
        again_from = now_ns()
        if note.stat.mtime_ns >= again_from - RACY_NS:  # still too new: a second read would not be trusted
            continue
        try:
            data, info = _read_note(Path(note.path), max_bytes)
        except SkippedNote:
            continue
        if hashlib.sha256(data).hexdigest() == note.sha256:
            records[note.rel] = again = NoteRecord.indexed(note.sha256, info, read_from_ns=again_from)
            settled += again.stat is not None
    return settled


def _read_up_to(fd: int, size: int, limit: int) -> bytes:
    """At most ``limit`` bytes of a regular file expected to hold ``size``: one read when it did not grow."""
    parts: list[bytes] = []
    want = min(size + 1, limit)  # one byte more than expected: a short read is the end of the file
    total = 0
    while total < limit:
        part = os.read(fd, want)
        if not part:
            break
        parts.append(part)
        total += len(part)
        if len(part) < want:
            break
        want = min(1 << 20, limit - total)
    return b"".join(parts)


def check_corpus_folder(root: Path) -> None:
    """A ``CorpusError`` unless ``root`` is a folder."""
    if not root.exists():
        raise CorpusError(f"corpus folder {root} does not exist", fix="pass --corpus DIR or set NOTES_QA_CORPUS")
    if not root.is_dir():
        raise CorpusError(f"corpus {root} is not a folder", fix="pass --corpus a folder of .md notes")


def _note_paths(
    root: Path, skip: tuple[Path, ...], follow_links: bool, warnings: list[str]
) -> list[Candidate]:
    """The candidate note files below ``root`` (:data:`Candidate`), never inside ``skip`` (the index)."""
    check_corpus_folder(root)
    skip_real = {Path(os.path.realpath(p)) for p in skip}
    root_real = Path(os.path.realpath(root))
    for folder in skip_real:
        if root_real.is_relative_to(folder):
            same = "is" if root_real == folder else "is inside"
            raise CorpusError(f"the corpus folder {root} {same} the index folder {folder}",
                              fix="pass --index a folder of its own (e.g. --index ./index)")
    return _candidate_files(root, skip_real, warnings, follow_links)


def _note_file(rel: str, path: Path, max_file_bytes: int, warnings: list[str],
               seen: os.stat_result | None = None) -> NoteFile | None:
    """The note at ``path`` (``rel`` in the corpus) read and hashed, or None (and a warning) if it is not read.

    ``seen``: its stat from the folder walk, when it is not a link.
    """
    try:
        data, info = _read_note(path, max_file_bytes, seen)
    except SkippedNote as exc:
        warnings.append(f"{rel}: {exc.message}; skipped")
        return None
    if b"\x00" in data[:8192]:
        warnings.append(f"{rel}: looks binary (NUL bytes); skipped")
        return None
    lossy = False
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        warnings.append(f"{rel}: not valid UTF-8; undecodable bytes shown as \ufffd")
        lossy = True
    return NoteFile(rel, path, hashlib.sha256(data).hexdigest(), len(data), text, info, lossy)


def read_note_file(note: NoteFile, max_file_bytes: int, warnings: list[str]) -> NoteFile | None:
    """``note`` read now (a note :func:`read_changed_notes` left unread), or None (and a warning) if it cannot be."""
    return _note_file(note.rel, Path(note.path), max_file_bytes, warnings)


def no_readable_notes(root: Path, warnings: list[str]) -> CorpusError:
    """The error of a corpus folder without a readable note (``warnings``: why the files in it were skipped)."""
    detail = ""
    if warnings:
        first = warnings[0].removesuffix("; skipped")
        detail = f" ({len(warnings)} skipped; first {first})" if len(warnings) > 1 else f" ({first})"
    return CorpusError(f"no readable notes (.md, .markdown, .txt) in {root}{detail}", fix="add some or pass --corpus DIR")


def read_corpus(
    root: Path, *, max_file_bytes: int = 10_000_000, skip: tuple[Path, ...] = (), follow_links: bool = False
) -> Corpus:
    """Read every note below ``root``; strange files are skipped with a warning.

    ``skip`` holds the index folder: never read as notes. ``follow_links``
    also reads links that lead outside ``root``.
    """
    warnings: list[str] = []
    notes = [note for rel, path, seen in _note_paths(root, skip, follow_links, warnings)
             if (note := _note_file(rel, Path(path), max_file_bytes, warnings, seen)) is not None]
    if not notes:
        raise no_readable_notes(root, warnings)
    return Corpus(root, tuple(notes), tuple(warnings))


def _kept_hashes(walked: WalkedNotes, known: Mapping[str, NoteRecord]) -> list[str | None]:
    """Per walked note, the sha256 ``known`` records for it when its stat now is the one recorded with it
    (None: it must be read). The recorded notes in their order are compared in one pass."""
    rels = walked.rels
    table = known if isinstance(known, NoteArrays) else None
    same = None if table is None else table.same_stats(rels, walked.stats)
    if table is not None and same is not None:  # row i of the table is walked note i
        return [table.sha256_at(row) if kept else None for row, kept in enumerate(same.tolist())]
    unchanged_hash = unchanged_hash_of(known)  # chosen once: this runs for every note
    return [None if now == NO_STAT else unchanged_hash(rel, now) for rel, now in zip(rels, walked.stat_keys(), strict=True)]


def read_changed_notes(
    root: Path,
    known: RecordedNotes,
    *,
    max_file_bytes: int = 10_000_000,
    skip: tuple[Path, ...] = (),
    follow_links: bool = False,
) -> Corpus:
    """The notes :func:`read_corpus` gives, reading only those whose stat changed: a note whose ``os.stat``
    (size, mtime_ns, ctime_ns, inode) is the one ``known`` (the previous build's records) holds, and that
    ``known.reread`` does not name, keeps its recorded sha256 and stat and is not read (``text`` None), as
    the freshness check trusts it. A refresh of a 100,000-note vault read 395 MB of notes for one edit.
    ``known.reread`` (notes whose reading warned, so that the warning is given again) must be known."""
    reread = known.reread
    if reread is None:
        raise ValueError("the records do not say which notes must be read again")
    walked = walk_notes(root, max_file_bytes=max_file_bytes, skip=skip, follow_links=follow_links)
    warnings = list(walked.warnings)
    rels, paths = walked.rels, walked.paths
    stat_keys = walked.stat_keys()
    recorded = _kept_hashes(walked, known)
    notes: list[NoteFile] = []
    for rel, path, now, sha256 in zip(rels, paths, stat_keys, recorded, strict=True):
        if sha256 is not None and rel not in reread:
            notes.append(NoteFile(rel, path, sha256, now[0], None, NoteStat(*now)))
        elif (note := _note_file(rel, Path(path), max_file_bytes, warnings)) is not None:
            notes.append(note)
    if not notes:
        raise no_readable_notes(root, warnings)
    return Corpus(root, tuple(notes), tuple(warnings))


@dataclass(frozen=True)
class CorpusHashes:
    """What a freshness check found: every readable note's sha256 now (``hashes``, made when first
    asked for), how many notes had to be read to know it, the warnings of the files that were not
    read as notes (as a build gives them), and whether the notes are exactly the recorded ones."""

    hashed: int
    warnings: tuple[str, ...]
    #: the same notes as the records checked against, each with its recorded sha256: nothing to compare
    unchanged: bool
    _hashes: Callable[[], dict[str, str]] = field(repr=False, compare=False)
    #: notes read (their stat differs from the recorded one) and found with their recorded hash, each
    #: with its stat now when old enough to trust: what ``NoteArrays.record_seen`` keeps for next time
    seen: Mapping[str, NoteStat] = field(default_factory=dict)

    @cached_property
    def hashes(self) -> dict[str, str]:
        """path -> sha256 now of every readable note."""
        return self._hashes()


@dataclass(frozen=True)
class WalkedNotes:
    """The candidate notes below a corpus folder, in walk order, each with its stat now, and the warnings
    of the walk: what a freshness check needs of the folder, compact enough to come from another
    process (``walk_aside``). ``stats`` holds 4 int64 a note, its :data:`~indexer.note_table.StatKey` (a
    link's of the file it leads to), or :data:`NO_STAT` for one that cannot be stat'ed, is not a regular
    file or is over the size limit: the check reads it."""

    rels: list[str]
    paths: list[str]
    stats: array.array[int]  # typecode "q"
    warnings: tuple[str, ...]

    def stat_keys(self) -> list[StatKey]:
        """Each note's stat as a tuple."""
        values = iter(self.stats.tolist())
        return list(zip(values, values, values, values, strict=True))


NO_STAT: StatKey = (-1, -1, -1, -1)


def walk_notes(
    root: Path, *, max_file_bytes: int = 10_000_000, skip: tuple[Path, ...] = (), follow_links: bool = False
) -> WalkedNotes:
    """The :class:`WalkedNotes` below ``root`` (``skip``: the index folder; a ``CorpusError`` for a corpus
    that is not a folder or lies in the index)."""
    warnings: list[str] = []
    found = _note_paths(root, skip, follow_links, warnings)
    stats: list[int] = []
    add = stats.extend
    for _, path, info in found:
        if info is None:  # a link: the file it leads to
            try:
                info = os.stat(path)
            except OSError:
                add(NO_STAT)
                continue
        ok = stat.S_ISREG(info.st_mode) and info.st_size <= max_file_bytes
        add((info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino) if ok else NO_STAT)
    return WalkedNotes([rel for rel, _, _ in found], [path for _, path, _ in found], array.array("q", stats),
                       tuple(warnings))


def corpus_hashes(
    root: Path,
    known: Mapping[str, NoteRecord],
    *,
    max_file_bytes: int = 10_000_000,
    skip: tuple[Path, ...] = (),
    follow_links: bool = False,
    walked: WalkedNotes | None = None,
) -> CorpusHashes:
    """The sha256 of every note :func:`read_corpus` would read, reading only notes whose stat changed.

    ``known`` is the manifest's record of each note: a note whose ``os.stat``
    equals the recorded one keeps the recorded hash. The others (new, changed,
    touched, or recorded without a stat) are read and hashed as a build reads
    them. A ``CorpusError`` when there is no readable note, as from ``read_corpus``.
    ``walked``: the folder's walk, when it was done elsewhere (by default it is done here).

    When ``known`` is a build's note table and the walk finds its notes in its order (nothing added,
    removed or renamed), every stat is compared with the table's at once (:meth:`NoteArrays.same_stats`):
    a 100,000-note vault's check does no per-note lookup, and makes no path -> hash dict unless asked.
    """
    trusted_before = time.time_ns() - RACY_NS  # a stat of a note modified after this is not kept
    if walked is None:
        walked = walk_notes(root, max_file_bytes=max_file_bytes, skip=skip, follow_links=follow_links)
    warnings = list(walked.warnings)
    rels = walked.rels
    read: dict[str, str] = {}  # the notes read now: path -> sha256
    seen: dict[str, NoteStat] = {}

    def read_note(row: int, recorded_hash: str | None) -> None:
        rel = rels[row]
        note = _note_file(rel, Path(walked.paths[row]), max_file_bytes, warnings)
        if note is not None:
            read[rel] = note.sha256
            if note.sha256 == recorded_hash and note.stat is not None and note.stat.mtime_ns < trusted_before:
                seen[rel] = note.stat

    table = known if isinstance(known, NoteArrays) else None
    same = None if table is None else table.same_stats(rels, walked.stats)
    if table is not None and same is not None:  # the recorded notes in their order: read those whose stat differs
        recorded = table.sha256_at  # row i of the table is walked note i
        changed = (~same).nonzero()[0].tolist()
        for row in changed:
            read_note(row, recorded(row))
        if not read and not same.any():
            raise no_readable_notes(root, warnings)
        unchanged = len(read) == len(changed) and all(read[rels[row]] == recorded(row) for row in changed)

        def every_hash() -> dict[str, str]:
            return {rel: recorded(row) if kept else read[rel]
                    for row, (rel, kept) in enumerate(zip(rels, same.tolist(), strict=True)) if kept or rel in read}

        return CorpusHashes(len(changed), tuple(warnings), unchanged, every_hash, seen)
    hashes: dict[str, str] = {}
    hashed = 0
    for row, (rel, recorded_hash) in enumerate(zip(rels, _kept_hashes(walked, known), strict=True)):
        if recorded_hash is not None:
            hashes[rel] = recorded_hash
            continue
        hashed += 1
        record = known.get(rel)
        read_note(row, None if record is None else record.sha256)
        if rel in read:
            hashes[rel] = read[rel]
    if not hashes:
        raise no_readable_notes(root, warnings)
    unchanged = (len(hashes) == len(known) and all(rel in known for rel in hashes)
                 and all(known[rel].sha256 == sha256 for rel, sha256 in read.items()))
    return CorpusHashes(hashed, tuple(warnings), unchanged, lambda: hashes, seen)
