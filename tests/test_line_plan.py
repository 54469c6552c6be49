"""A refresh takes each unchanged note's line rows from the previous build, and writes what a full build writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer import build, line_plan
from indexer.build import build_index
from indexer.index_files import LINE_RULES, current_build, read_kept_lines
from indexer.model_files import ModelInfo
from indexer.models import Chunk, LineText
from indexer.settings import Settings

from .conftest import small_settings
from .fakes import FakeEmbedder, WordCounter

NOTES = {
    "a.md": "# Caches\n\n## Redis\n\n- keeps data on disk with AOF persistence\n- replicas in other zones\n\n"
            "| Feature | Redis | Memcached |\n|---|---|---|\n| Persistence | yes | no |\n",
    "b.md": "# Storage\n\n" + "S3 keeps objects durable across many zones and serves them to many readers " * 12 + "\n",
    "c.md": "# Streams\n\n- Kinesis keeps records for a day\n- shards scale reads\n",
}


def build_files(settings: Settings, fake_model: ModelInfo, **kw: bool) -> dict[str, bytes]:
    build_index(settings, embedder=FakeEmbedder(), token_counter=WordCounter(), model=fake_model, **kw)
    folder = current_build(settings.index_dir)
    assert folder is not None
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.suffix in (".json", ".npy", ".jsonl", ".faiss")}


def derived_paths(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The notes whose line rows the next builds derive (instead of taking them from the previous build)."""
    derived: list[str] = []
    real = line_plan.snippet_lines

    def recording(chunks: list[Chunk], texts: dict[str, list[str]]) -> list[LineText]:
        derived.extend(texts)
        return real(chunks, texts)

    monkeypatch.setattr(line_plan, "snippet_lines", recording)
    return derived


def test_a_refresh_derives_only_the_changed_notes_rows_and_writes_what_a_full_build_writes(
    tmp_path: Path, fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = small_settings(tmp_path / "one", NOTES)
    build_files(settings, fake_model)
    derived = derived_paths(monkeypatch)
    (settings.corpus_dir / "c.md").write_text(NOTES["c.md"] + "- consumers read in order\n")
    refreshed = build_files(settings, fake_model)
    assert derived == ["c.md"]  # a.md (a table, own lines) and b.md (a long line, pooled) as they were
    folder = current_build(settings.index_dir)
    assert folder is not None
    _, kept = read_kept_lines(folder)
    assert kept is not None and any(k.own for k in kept) and not all(k.own for k in kept)

    again = small_settings(tmp_path / "two", {**NOTES, "c.md": NOTES["c.md"] + "- consumers read in order\n"})
    full = build_files(again, fake_model, full=True)
    differ = [name for name in full if name not in ("manifest.json", "notes.stat.npy") and full[name] != refreshed[name]]
    assert differ == []


def test_rows_from_a_build_made_under_other_rules_are_derived_again(
    notes_settings: Settings, fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build, "LINE_RULES", LINE_RULES + 1)  # as if the rows had been derived another way
    build_files(notes_settings, fake_model)
    monkeypatch.setattr(build, "LINE_RULES", LINE_RULES)
    derived = derived_paths(monkeypatch)
    first = sorted(p.name for p in notes_settings.corpus_dir.iterdir())[0]
    with (notes_settings.corpus_dir / first).open("a") as handle:
        handle.write("\n- one more line about caches\n")
    build_files(notes_settings, fake_model)
    assert sorted(derived) == sorted(p.name for p in notes_settings.corpus_dir.iterdir())  # every note again
    derived.clear()
    with (notes_settings.corpus_dir / first).open("a") as handle:
        handle.write("- and another\n")
    build_files(notes_settings, fake_model)  # that build recorded this code's rules: only the edited note
    assert derived == [first]
