"""Find the notes in a folder and read them safely."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import CorpusError

NOTE_SUFFIXES = (".md", ".markdown", ".txt")


@dataclass(frozen=True)
class NoteFile:
    rel: str  # path relative to the corpus root, forward slashes
    path: Path
    sha256: str
    size: int
    text: str


@dataclass(frozen=True)
class Corpus:
    root: Path
    notes: tuple[NoteFile, ...]
    warnings: tuple[str, ...]

    def hashes(self) -> dict[str, str]:
        return {note.rel: note.sha256 for note in self.notes}


def _candidates(root: Path, skip: set[Path]) -> list[Path]:
    """Note files below ``root``, following folder links once (no loops)."""
    found: list[Path] = []
    seen_dirs: set[str] = set()
    for folder, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen_dirs or Path(real) in skip:
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or not name.lower().endswith(NOTE_SUFFIXES):
                continue
            found.append(Path(folder) / name)
    return found


def read_corpus(root: Path, *, max_file_bytes: int = 10_000_000, skip: tuple[Path, ...] = ()) -> Corpus:
    """Read every note below ``root``; strange files are skipped with a warning."""
    if not root.exists():
        raise CorpusError(f"corpus folder {root} does not exist; pass --corpus DIR or set NOTES_QA_CORPUS")
    if not root.is_dir():
        raise CorpusError(f"corpus {root} is not a folder; pass --corpus a folder of .md notes")
    skip_real = {Path(os.path.realpath(p)) for p in skip}
    notes: list[NoteFile] = []
    warnings: list[str] = []
    for path in _candidates(root, skip_real):
        rel = path.relative_to(root).as_posix()
        try:
            if not path.is_file():
                warnings.append(f"{rel}: not a regular file (broken link?); skipped")
                continue
            size = path.stat().st_size
            if size > max_file_bytes:
                warnings.append(f"{rel}: {size / 1e6:.1f} MB is over the {max_file_bytes / 1e6:.0f} MB limit; skipped")
                continue
            data = path.read_bytes()
        except OSError as exc:
            warnings.append(f"{rel}: cannot be read ({exc.strerror or exc.__class__.__name__}); skipped")
            continue
        if b"\x00" in data[:8192]:
            warnings.append(f"{rel}: looks binary (NUL bytes); skipped")
            continue
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("utf-8", errors="replace")
            warnings.append(f"{rel}: not valid UTF-8; undecodable bytes shown as \ufffd")
        notes.append(NoteFile(rel, path, hashlib.sha256(data).hexdigest(), len(data), text))
    if not notes:
        detail = f" ({len(warnings)} skipped)" if warnings else ""
        raise CorpusError(f"no readable notes (.md, .markdown, .txt) in {root}{detail}; add some or pass --corpus DIR")
    return Corpus(root, tuple(notes), tuple(warnings))
