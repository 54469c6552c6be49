"""Read numbered lines of one note, for callers that name the note themselves (the MCP server).

The caller's path is untrusted: it must name a note file *inside* the corpus
(relative, no ``..``, no hidden parts, a note suffix, no link that leaves the
corpus, a regular file), and what comes back is bounded in lines and bytes.
Line numbers are the ones hits carry: the file is decoded and split exactly as
the index build does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .corpus import NOTE_SUFFIXES, SkippedNote, read_note_bytes
from .errors import UsageError

#: At most this many lines per call (the bundled notes' longest file has 421).
MAX_LINES = 5000
#: At most this many bytes of line text per call; a longer range is cut and marked truncated.
MAX_TEXT_BYTES = 2_000_000


@dataclass(frozen=True)
class NoteLine:
    number: int  # 1-based, as in hits
    text: str


@dataclass(frozen=True)
class NoteLines:
    path: str  # relative to the corpus, forward slashes
    start_line: int
    end_line: int  # last line returned (start_line - 1 when the note is empty)
    total_lines: int
    lines: tuple[NoteLine, ...]
    truncated: bool  # the range asked for was cut at MAX_LINES or MAX_TEXT_BYTES
    warnings: tuple[str, ...] = ()


def resolve_note(corpus_dir: Path, rel: str) -> tuple[str, Path]:
    """The normalised relative path and the real file of note ``rel``, or a UsageError saying why not."""
    if not rel or not rel.strip():
        raise UsageError("give the note's path relative to the corpus, e.g. database.md")
    if "\x00" in rel:
        raise UsageError("the path holds a NUL character", fix="give the note's path relative to the corpus")
    text = rel.replace("\\", "/")
    pure = PurePosixPath(text)
    if pure.is_absolute():
        raise UsageError(f"{rel!r} is an absolute path", fix="give the note's path relative to the corpus, e.g. database.md")
    parts = [p for p in pure.parts if p != "."]
    if ".." in parts:
        raise UsageError(f"{rel!r} leaves the corpus ('..')", fix="give a note's path relative to the corpus")
    if not parts or any(p.startswith(".") for p in parts):
        raise UsageError(f"{rel!r} is a hidden file or folder", fix="only the notes of the corpus can be read")
    if not parts[-1].lower().endswith(NOTE_SUFFIXES):
        raise UsageError(f"{rel!r} is not a note", fix=f"only {', '.join(NOTE_SUFFIXES)} files of the corpus can be read")
    clean = "/".join(parts)
    root = Path(os.path.realpath(corpus_dir))
    target = Path(os.path.realpath(root.joinpath(*parts)))
    if not target.is_relative_to(root):
        raise UsageError(f"{clean} links outside the corpus", fix="only files inside it can be read")
    return clean, target


def read_note_lines(
    corpus_dir: Path,
    rel: str,
    start_line: int | None = None,
    end_line: int | None = None,
    *,
    max_file_bytes: int = 10_000_000,
) -> NoteLines:
    """Lines ``start_line``..``end_line`` (1-based, inclusive; default the whole note) of note ``rel``."""
    if start_line is not None and start_line < 1:
        raise UsageError(f"start_line must be at least 1 (got {start_line})")
    if end_line is not None and end_line < 1:
        raise UsageError(f"end_line must be at least 1 (got {end_line})")
    if start_line is not None and end_line is not None and end_line < start_line:
        raise UsageError(f"end_line {end_line} is before start_line {start_line}")
    clean, target = resolve_note(corpus_dir, rel)
    try:
        data = read_note_bytes(target, max_file_bytes)
    except SkippedNote as exc:
        reason = exc.message if os.path.lexists(target) else "no such note"
        raise UsageError(f"{clean}: {reason}", fix="search_notes gives the paths of the notes") from None
    if b"\x00" in data[:8192]:
        raise UsageError(f"{clean}: looks binary (NUL bytes)", fix="only text notes can be read")
    warnings: list[str] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        warnings.append(f"{clean}: not valid UTF-8; undecodable bytes shown as \ufffd")
    # The same line split as the index build, so numbers match the hits'.
    all_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    total = len(all_lines)
    first = start_line or 1
    if first > total:
        raise UsageError(f"start_line {first} is past the end of {clean} ({total} lines)")
    last = min(end_line or total, total)
    truncated = last - first + 1 > MAX_LINES
    last = min(last, first + MAX_LINES - 1)
    lines: list[NoteLine] = []
    size = 0
    for number in range(first, last + 1):
        line = all_lines[number - 1]
        size += len(line.encode("utf-8")) + 1
        if size > MAX_TEXT_BYTES:
            truncated = True
            if not lines:  # one line longer than the limit: its first part
                lines.append(NoteLine(number, line.encode("utf-8")[:MAX_TEXT_BYTES].decode("utf-8", "ignore")))
            break
        lines.append(NoteLine(number, line))
    end = lines[-1].number if lines else first - 1
    return NoteLines(clean, first, end, total, tuple(lines), truncated, tuple(warnings))
