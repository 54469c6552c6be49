"""`notes-qa index` with nothing to do writes nothing (indexer/up_to_date.py)."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from indexer.build import build_index
from indexer.index_files import current_build
from indexer.model_files import ModelInfo
from indexer.settings import Settings
from indexer.up_to_date import UP_TO_DATE, unchanged_index

from .fakes import FakeEmbedder, WordCounter


def build(settings: Settings, model: ModelInfo) -> None:
    build_index(settings, embedder=FakeEmbedder(), token_counter=WordCounter(), model=model)


def test_unchanged_notes_give_the_live_build_and_nothing_is_written(notes_settings: Settings, fake_model: ModelInfo) -> None:
    build(notes_settings, fake_model)
    folder = current_build(notes_settings.index_dir)
    before = sorted(p.name for p in notes_settings.index_dir.iterdir())
    report = unchanged_index(notes_settings, model=fake_model)
    assert report is not None and report.reason == UP_TO_DATE
    assert report.index_dir == folder and (report.files, report.embedded) == (3, 0)
    assert report.chunks > 0 and report.lines > 0
    assert sorted(p.name for p in notes_settings.index_dir.iterdir()) == before
    note = notes_settings.corpus_dir / "cache.md"
    os.utime(note, ns=(note.stat().st_atime_ns, note.stat().st_mtime_ns + 5_000_000_000))  # touched, same text
    assert unchanged_index(notes_settings, model=fake_model) is not None


def test_a_file_skipped_now_is_still_warned_about_when_nothing_else_changed(
    notes_settings: Settings, fake_model: ModelInfo
) -> None:
    build(notes_settings, fake_model)
    (notes_settings.corpus_dir / "blob.md").write_bytes(b"\x00" * 10)  # not a note: a build would skip it
    report = unchanged_index(notes_settings, model=fake_model)
    assert report is not None and report.reason == UP_TO_DATE
    assert report.warnings == ("blob.md: looks binary (NUL bytes); skipped",)


def test_a_changed_note_or_setting_means_a_build(notes_settings: Settings, fake_model: ModelInfo) -> None:
    build(notes_settings, fake_model)
    other_chunks = replace(notes_settings, chunker=replace(notes_settings.chunker, target_tokens=32))
    assert unchanged_index(other_chunks, model=fake_model) is None
    assert unchanged_index(replace(notes_settings, precision="int8"), model=fake_model) is None
    assert unchanged_index(notes_settings, model=replace(fake_model, fingerprint="e" * 64)) is None
    (notes_settings.corpus_dir / "new.md").write_text("# New\n\n- badgers\n")
    assert unchanged_index(notes_settings, model=fake_model) is None


def test_a_damaged_or_copied_index_means_a_build(notes_settings: Settings, fake_model: ModelInfo) -> None:
    build(notes_settings, fake_model)
    folder = current_build(notes_settings.index_dir)
    assert folder is not None
    with (folder / "lines.npy").open("ab") as handle:  # another size than the manifest's
        handle.write(b"\0")
    assert unchanged_index(notes_settings, model=fake_model) is None
    build(notes_settings, fake_model)
    live = current_build(notes_settings.index_dir)
    assert live is not None and unchanged_index(notes_settings, model=fake_model) is not None
    link = notes_settings.index_dir / "current"
    link.unlink()
    shutil.copytree(live, link)  # as `cp -rL` leaves it: current is a folder
    assert unchanged_index(notes_settings, model=fake_model) is None
    empty = replace(notes_settings, index_dir=notes_settings.index_dir.parent / "none")
    assert unchanged_index(empty, model=fake_model) is None


@pytest.mark.model
def test_the_command_says_up_to_date_and_full_still_builds(tmp_path: Path, model_cache: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    shutil.copytree(root / "corpus", tmp_path / "corpus")
    env = dict(os.environ, NOTES_QA_CORPUS=str(tmp_path / "corpus"), NOTES_QA_INDEX=str(tmp_path / "index"),
               NOTES_QA_CACHE=str(model_cache), HF_HUB_OFFLINE="1")

    def index(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "notes_qa_cli", "index", *args], capture_output=True, text=True,
                              env=env, timeout=600)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "indexed 5 files" in index("--encoder", "int8")
    assert index().startswith("index is up to date: 5 files")
    assert '"mode": "up to date"' in index("--json")
    assert "full rebuild (--full)" in index("--full")
