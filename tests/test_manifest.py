"""The typed manifest: today's files read and written back unchanged, bad ones refused with the fix."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest

from indexer.build import build_index
from indexer.errors import REBUILD, IndexFileError
from indexer.index_files import current_build, load_index
from indexer.manifest import MANIFEST, Manifest, read_manifest
from indexer.model_files import ModelInfo
from indexer.settings import Settings

from .fakes import FakeEmbedder, WordCounter

#: manifest.json of the bundled notes, written by the build before the manifest was typed (2026-12-03).
V1 = Path(__file__).parent / "data" / "manifest-v1.json"


def fixture() -> dict[str, Any]:
    raw = json.loads(V1.read_text(encoding="utf-8"))
    assert isinstance(raw, dict)
    return raw


def test_a_manifest_written_before_the_type_reads_and_writes_back_unchanged() -> None:
    raw = fixture()
    manifest = Manifest.from_json(copy.deepcopy(raw), Path("build"))
    assert manifest.to_json() == raw
    assert list(manifest.to_json()) == list(raw)  # the same key order, so the same bytes on disk
    assert manifest.model.dim == 384 and manifest.model.id == "all-MiniLM-L6-v2@626fa787d460"
    assert manifest.counts.chunks == 64 and manifest.counts.files == len(manifest.notes) == 5
    assert manifest.encoder.precision == "fp32" and manifest.encoder.backend == "onnx"
    assert manifest.store is not None and manifest.store.kind == "flat"
    assert manifest.chunker.max_tokens == 256 and manifest.keyword.method == "lucene"
    assert manifest.build.embedded == 690 and manifest.build.mode == "no previous index"
    assert manifest.note_hashes()["cache.md"] == raw["corpus"]["files"]["cache.md"]["sha256"]


def test_sections_older_builds_did_not_write_read_as_defaults() -> None:
    raw = fixture()
    for key in ("store", "build", "created_by", "built_at", "chunker", "keyword"):
        del raw[key]
    del raw["encoder"]["variant"]
    del raw["model"]["max_tokens"]
    manifest = Manifest.from_json(raw, Path("build"))
    assert manifest.store is None and manifest.built_at is None and manifest.model.max_tokens is None
    assert manifest.encoder.precision == "fp32"  # indexes from before the encoder setting are fp32
    assert "store" not in manifest.to_json() and "built_at" not in manifest.to_json()


def test_the_manifest_is_read_only_all_the_way_down() -> None:
    manifest = Manifest.from_json(fixture(), Path("build"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        manifest.fingerprint = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        manifest.encoder.sha256 = "0" * 64  # type: ignore[misc]
    with pytest.raises(TypeError):
        manifest.files["chunks.jsonl"] = "0" * 64  # type: ignore[index]
    changed = manifest.to_json()
    changed["encoder"]["query"]["sha256"] = "0" * 64  # to_json gives a copy to edit
    assert manifest.encoder.sha256 != "0" * 64


def edit(change: Any) -> dict[str, Any]:
    raw = fixture()
    change(raw)
    return raw


@pytest.mark.parametrize(
    ("case", "raw", "needle", "fix"),
    [
        ("newer format", edit(lambda m: m.update(format_version=2)), "has format 2, newer than this notes-qa reads (1)",
         f"upgrade notes-qa or {REBUILD}"),
        ("older format", edit(lambda m: m.update(format_version=0)), "has format 0, older than this notes-qa reads (1)",
         REBUILD),
        ("not an object", [1, 2], "invalid (not an object)", REBUILD),
        ("another program's", edit(lambda m: m.update(format="other")), "invalid (not a notes-qa index)", REBUILD),
        ("dimension a string", edit(lambda m: m["model"].update(dim="384")), "invalid (model)", REBUILD),
        ("dimension zero", edit(lambda m: m["model"].update(dim=0)), "invalid (model)", REBUILD),
        ("file name with a path", edit(lambda m: m["files"].update({"../x": "0" * 64})), "invalid (file name", REBUILD),
        ("chunk count missing", edit(lambda m: m["counts"].pop("chunks")), "invalid (counts)", REBUILD),
        ("note without hash", edit(lambda m: m["corpus"]["files"].update({"a.md": {"size": 1}})), "note 'a.md'",
         REBUILD),
        ("unknown store", edit(lambda m: m.update(store={"kind": "lsh", "params": {}})), "invalid (store)", REBUILD),
        ("encoder a list", edit(lambda m: m.update(encoder=[])), "invalid (encoder)", REBUILD),
    ],
    ids=lambda v: v if isinstance(v, str) and " " in v else "",
)
def test_a_bad_manifest_says_what_is_wrong_and_the_fix(case: str, raw: Any, needle: str, fix: str) -> None:
    with pytest.raises(IndexFileError) as caught:
        Manifest.from_json(raw, Path("build"))
    assert needle in caught.value.message and caught.value.fix == fix, case
    assert "rebuild with" not in caught.value.message  # the fix is data, not glued onto the message


def test_a_build_writes_what_the_type_reads(notes_settings: Settings, fake_model: ModelInfo) -> None:
    build_index(notes_settings, embedder=FakeEmbedder(), token_counter=WordCounter(), model=fake_model)
    folder = current_build(notes_settings.index_dir)
    assert folder is not None
    raw = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    manifest = read_manifest(folder)
    assert manifest.to_json() == raw and load_index(notes_settings.index_dir).manifest == manifest
    assert set(manifest.notes) == {"cache.md", "database.md", "storage.md"}
    assert manifest.model.fingerprint == fake_model.fingerprint and manifest.chunker == notes_settings.chunker


def test_an_index_with_a_manifest_of_another_version_is_rebuilt(notes_settings: Settings, fake_model: ModelInfo) -> None:
    from indexer.service import open_or_repair

    fakes: dict[str, Any] = {"embedder": FakeEmbedder(), "token_counter": WordCounter(), "model": fake_model}
    for auto_build in (True, False):
        build_index(notes_settings, **fakes)
        folder = current_build(notes_settings.index_dir)
        assert folder is not None
        raw = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        (folder / MANIFEST).write_text(json.dumps({**raw, "format_version": 7}), encoding="utf-8")
        heard: list[str] = []
        opened = open_or_repair(notes_settings, auto_build=auto_build, on_repair=heard.append, **fakes)
        assert opened.built is not None and current_build(notes_settings.index_dir) != folder
        assert read_manifest(opened.built.index_dir).format_version == 1
        if auto_build:  # the status check finds it before loading: the build says why it embeds everything
            assert heard == [] and opened.repaired is None
            assert "has format 7, newer than this notes-qa reads (1)): full rebuild" in opened.built.reason
        else:  # found on loading: repaired, saying why first
            assert heard == [opened.repaired] and "has format 7, newer than this notes-qa reads" in heard[0]


def test_notes_diff_names_changed_new_and_removed_notes() -> None:
    manifest = Manifest.from_json(fixture(), Path("build"))
    now = manifest.note_hashes()
    assert not manifest.notes_diff(now)
    now["cache.md"] = "0" * 64
    now["new.md"] = "1" * 64
    del now["storage.md"]
    diff = manifest.notes_diff(now)
    assert (diff.modified, diff.added, diff.deleted) == (("cache.md",), ("new.md",), ("storage.md",)) and diff


def test_a_settled_manifest_is_parsed_once_and_any_change_to_its_file_is_read(
    notes_settings: Settings, fake_model: ModelInfo
) -> None:
    build_index(notes_settings, embedder=FakeEmbedder(), token_counter=WordCounter(), model=fake_model)
    folder = current_build(notes_settings.index_dir)
    assert folder is not None
    path = folder / MANIFEST
    assert read_manifest(folder) is not read_manifest(folder)  # just written: not remembered yet
    old = path.stat().st_mtime_ns - 10_000_000_000
    os.utime(path, ns=(old, old))
    first = read_manifest(folder)
    assert read_manifest(folder) is first  # settled and unchanged: the same parsed manifest
    raw = json.loads(path.read_text())
    raw["built_at"] = "2000-01-01T00:00:00+00:00"  # an edit in place: mtime (and size) change
    path.write_text(json.dumps(raw))
    again = read_manifest(folder)
    assert again is not first and again.built_at == "2000-01-01T00:00:00+00:00"
