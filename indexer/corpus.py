"""Find the notes in a folder and read them safely.

:func:`read_corpus` reads and hashes every note (a build). :func:`corpus_hashes`
answers "what is each note's sha256 now?" for a freshness check: a note whose
``os.stat`` (size, mtime_ns, ctime_ns, inode) is the one the manifest recorded
keeps the recorded hash unread, as git trusts its index; only the others are
read and hashed.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import CorpusError
from .manifest import NoteRecord, NoteStat

NOTE_SUFFIXES = (".md", ".markdown", ".txt")


@dataclass(frozen=True)
class NoteFile:
    rel: str  # path relative to the corpus root, forward slashes
    path: Path
    sha256: str
    size: int
    text: str
    stat: NoteStat | None = None  # of the file read (fstat of the open file)


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


def _candidate_files(
    root: Path, skip: set[Path], warnings: list[str], follow_links: bool = False
) -> list[tuple[str, str]]:
    """Note files below ``root`` as (path relative to ``root`` with forward slashes, path), following
    folder links once (no loops). Strings, not ``Path``: a freshness check lists every note.

    Links that lead outside ``root`` are skipped with a warning unless
    ``follow_links``: a link to a private file must not land in the index.
    Names that are not valid UTF-8 cannot be stored in the index; they are
    skipped with a warning.
    """
    found: list[tuple[str, str]] = []
    seen_dirs: set[str] = set()
    root_real = os.path.realpath(root)
    follow_hint = "; skipped (--follow-links or NOTES_QA_FOLLOW_LINKS=1 indexes it)"

    def relative(path: str | Path) -> str:
        return Path(path).relative_to(root).as_posix()

    def unreadable(exc: OSError) -> None:
        where = Path(exc.filename or root)
        rel = where.relative_to(root).as_posix() if where.is_relative_to(root) else str(where)
        warnings.append(f"{rel}/: folder cannot be read ({exc.strerror or exc.__class__.__name__}); skipped")

    for folder, dirnames, filenames in os.walk(root, followlinks=True, onerror=unreadable):
        real = os.path.realpath(folder)
        if real in seen_dirs or Path(real) in skip:
            dirnames[:] = []
            continue
        if not follow_links and not _inside(real, root_real):
            warnings.append(f"{relative(folder)}/: a link to a folder outside the corpus{follow_hint}")
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        kept = []
        for name in sorted(d for d in dirnames if not d.startswith(".")):
            shown = _utf8_name(name)
            if shown is None:
                kept.append(name)
            else:
                warnings.append(f"{relative(Path(folder) / shown)}/: folder name is not valid UTF-8; skipped (rename it)")
        dirnames[:] = kept
        here = relative(folder)
        prefix = "" if here == "." else here + "/"
        for name in sorted(filenames):
            if name.startswith(".") or not name.lower().endswith(NOTE_SUFFIXES):
                continue
            path = os.path.join(folder, name)
            shown = _utf8_name(name)
            if shown is not None:
                warnings.append(f"{relative(Path(folder) / shown)}: file name is not valid UTF-8; skipped (rename it)")
                continue
            outside = os.path.islink(path) and os.path.exists(path) and not _inside(os.path.realpath(path), root_real)
            if outside and not follow_links:
                warnings.append(f"{prefix}{name}: a link to a file outside the corpus{follow_hint}")
                continue
            found.append((prefix + name, path))
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


def _read_note(path: Path, max_bytes: int) -> tuple[bytes, NoteStat]:
    """:func:`read_note_bytes`, and the stat of the file read, taken before reading it."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise SkippedNote(_why_missing(path, exc)) from exc
    if not stat.S_ISREG(info.st_mode):
        raise SkippedNote("not a regular file")
    if info.st_size > max_bytes:
        raise SkippedNote(f"{info.st_size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise SkippedNote(_why_missing(path, exc)) from exc
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):  # swapped for something else since the stat
            raise SkippedNote("not a regular file")
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise SkippedNote(f"cannot be read ({exc.strerror or exc.__class__.__name__})") from exc
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise SkippedNote(f"grew over the {max_bytes / 1e6:.0f} MB limit while it was being read")
    return data, NoteStat.of(opened)


def check_corpus_folder(root: Path) -> None:
    """A ``CorpusError`` unless ``root`` is a folder."""
    if not root.exists():
        raise CorpusError(f"corpus folder {root} does not exist", fix="pass --corpus DIR or set NOTES_QA_CORPUS")
    if not root.is_dir():
        raise CorpusError(f"corpus {root} is not a folder", fix="pass --corpus a folder of .md notes")


def _note_paths(
    root: Path, skip: tuple[Path, ...], follow_links: bool, warnings: list[str]
) -> list[tuple[str, str]]:
    """The candidate note files below ``root`` as (relative path, path), never inside ``skip`` (the index)."""
    check_corpus_folder(root)
    skip_real = {Path(os.path.realpath(p)) for p in skip}
    root_real = Path(os.path.realpath(root))
    for folder in skip_real:
        if root_real.is_relative_to(folder):
            same = "is" if root_real == folder else "is inside"
            raise CorpusError(f"the corpus folder {root} {same} the index folder {folder}",
                              fix="pass --index a folder of its own (e.g. --index ./index)")
    return _candidate_files(root, skip_real, warnings, follow_links)


def _note_file(rel: str, path: Path, max_file_bytes: int, warnings: list[str]) -> NoteFile | None:
    """The note at ``path`` (``rel`` in the corpus) read and hashed, or None (and a warning) if it is not read."""
    try:
        data, info = _read_note(path, max_file_bytes)
    except SkippedNote as exc:
        warnings.append(f"{rel}: {exc.message}; skipped")
        return None
    if b"\x00" in data[:8192]:
        warnings.append(f"{rel}: looks binary (NUL bytes); skipped")
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        warnings.append(f"{rel}: not valid UTF-8; undecodable bytes shown as \ufffd")
    return NoteFile(rel, path, hashlib.sha256(data).hexdigest(), len(data), text, info)


def _no_notes(root: Path, warnings: list[str]) -> CorpusError:
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
    notes = [note for rel, path in _note_paths(root, skip, follow_links, warnings)
             if (note := _note_file(rel, Path(path), max_file_bytes, warnings)) is not None]
    if not notes:
        raise _no_notes(root, warnings)
    return Corpus(root, tuple(notes), tuple(warnings))


@dataclass(frozen=True)
class CorpusHashes:
    """Every readable note's sha256 now (``hashes``), and how many of them had to be read to know it."""

    hashes: dict[str, str]
    hashed: int


def corpus_hashes(
    root: Path,
    known: Mapping[str, NoteRecord],
    *,
    max_file_bytes: int = 10_000_000,
    skip: tuple[Path, ...] = (),
    follow_links: bool = False,
) -> CorpusHashes:
    """The sha256 of every note :func:`read_corpus` would read, reading only notes whose stat changed.

    ``known`` is the manifest's record of each note: a note whose ``os.stat``
    equals the recorded one keeps the recorded hash. The others (new, changed,
    touched, or recorded without a stat) are read and hashed as a build reads
    them. A ``CorpusError`` when there is no readable note, as from ``read_corpus``.
    """
    warnings: list[str] = []
    hashes: dict[str, str] = {}
    hashed = 0
    for rel, path in _note_paths(root, skip, follow_links, warnings):
        record = known.get(rel)
        if record is not None and record.stat is not None:
            try:
                info = os.stat(path)
            except OSError:
                info = None
            if (info is not None and stat.S_ISREG(info.st_mode) and info.st_size <= max_file_bytes
                    and record.unchanged(NoteStat.of(info))):
                hashes[rel] = record.sha256
                continue
        hashed += 1
        note = _note_file(rel, Path(path), max_file_bytes, warnings)
        if note is not None:
            hashes[rel] = note.sha256
    if not hashes:
        raise _no_notes(root, warnings)
    return CorpusHashes(hashes, hashed)
