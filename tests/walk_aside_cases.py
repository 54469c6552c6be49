"""Cases of ``tests/test_walk_aside.py`` that need a process with one thread (a walk is forked only
there): each runs in a new interpreter, ``python -c "from tests.walk_aside_cases import CASE; CASE(DIR)"``,
and fails by raising."""

from __future__ import annotations

import os
from pathlib import Path

from indexer import walk_aside
from indexer.build import build_index, index_status
from indexer.corpus import walk_notes
from indexer.errors import CorpusError
from indexer.model_files import ModelInfo
from indexer.service import open_searcher
from indexer.walk_aside import MIN_NOTES, start_walk

from .conftest import SMALL_NOTES, small_settings
from .fakes import FakeEmbedder, WordCounter


def odd_corpus(root: Path) -> Path:
    """Notes in folders, a link to a note, a non-ASCII name, a FIFO and a file that is not a note."""
    (root / "a" / "b").mkdir(parents=True)
    (root / "top.md").write_text("# Top\n")
    (root / "a" / "één.md").write_text("# Één\n")
    (root / "a" / "b" / "deep.markdown").write_text("# Deep\n")
    (root / "a" / "link.md").symlink_to(root / "top.md")
    (root / "a" / "image.png").write_bytes(b"\x89PNG")
    os.mkfifo(root / "a" / "pipe.md")
    return root


def reaped(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def same_walk(tmp: Path) -> None:
    root = odd_corpus(tmp / "notes")
    kw = {"max_file_bytes": 1000, "skip": (tmp / "index",), "follow_links": False}
    aside = start_walk(root, MIN_NOTES, **kw)  # type: ignore[arg-type]
    assert aside is not None, "no child in a one-thread process"
    walked = aside.result()
    assert walked == walk_notes(root, **kw), walked  # type: ignore[arg-type]
    assert walked is not None and {"a/één.md", "a/pipe.md", "a/link.md"} <= set(walked.rels)
    assert reaped(aside.pid)


def failed_child(tmp: Path) -> None:
    aside = start_walk(tmp / "gone", MIN_NOTES, max_file_bytes=1000, skip=(), follow_links=False)
    assert aside is not None and aside.result() is None and reaped(aside.pid)
    try:
        walk_notes(tmp / "gone")
    except CorpusError as exc:
        assert "does not exist" in exc.message
    else:
        raise AssertionError("no error for a missing corpus")


def cancelled(tmp: Path) -> None:
    aside = start_walk(odd_corpus(tmp / "notes"), MIN_NOTES, max_file_bytes=1000, skip=(), follow_links=False)
    assert aside is not None
    aside.cancel()
    aside.cancel()  # twice is harmless
    assert reaped(aside.pid)


def open_searcher_sees_an_edit(tmp: Path) -> None:
    settings = small_settings(tmp, SMALL_NOTES)
    model = ModelInfo(tmp, "fake", "f" * 64, 64, 256, tmp / "tokenizer.json")
    build = {"embedder": FakeEmbedder(), "token_counter": WordCounter(), "model": model}
    build_index(settings, **build)  # type: ignore[arg-type]
    started = []
    real_start = walk_aside.start_walk

    def counted(*args: object, **kw: object) -> object:
        started.append(real_start(*args, **kw))  # type: ignore[arg-type]
        return started[-1]

    walk_aside.MIN_NOTES = 0  # type: ignore[misc]
    walk_aside.start_walk = counted  # type: ignore[assignment]
    opened = open_searcher(settings, **build)  # type: ignore[arg-type]
    assert started[-1] is not None and opened.built is None  # fresh, checked through the child
    (settings.corpus_dir / "cache.md").write_text("# Cache\n\n## Valkey\n\n- a fork of Redis\n")
    opened = open_searcher(settings, **build)  # type: ignore[arg-type]
    assert started[-1] is not None and opened.built is not None  # the edit was seen: rebuilt
    assert any("Valkey" in chunk.text for chunk in opened.searcher.index.chunks)
    assert index_status(settings).state == "fresh"
    assert all(reaped(aside.pid) for aside in started if aside is not None)


def sigchld_ignored(tmp: Path) -> None:
    """A host that ignores SIGCHLD has its children reaped for it: the exit code is unknown, so the
    child's answer is not used (the caller walks itself)."""
    import signal

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    aside = start_walk(odd_corpus(tmp / "notes"), MIN_NOTES, max_file_bytes=1000, skip=(), follow_links=False)
    assert aside is not None and aside.result() is None
