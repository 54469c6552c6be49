"""The encoder setting (fp32 / int8): part of the fingerprint, kept across rebuilds, said plainly when it changes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from indexer.build import index_status
from indexer.embedder import EmbedderChoice
from indexer.errors import UsageError
from indexer.index_files import current_build, load_index
from indexer.keyword import KeywordParams
from indexer.model_files import ModelInfo
from indexer.reuse import fingerprint
from indexer.settings import ChunkerSettings, Settings

from .conftest import ROOT, SMALL_NOTES, write_notes
from .fakes import FakeEmbedder
from .test_build_and_search import build


class FakeInt8Embedder(FakeEmbedder):
    """The fake encoder standing in for a quantized one: other vectors, other precision."""

    precision = "int8"


def test_fp32_keeps_its_fingerprint_and_int8_changes_it() -> None:
    chunker, keyword = ChunkerSettings(), KeywordParams()
    assert fingerprint("m" * 64, chunker, keyword) == fingerprint("m" * 64, chunker, keyword, "fp32")
    assert fingerprint("m" * 64, chunker, keyword, "int8") != fingerprint("m" * 64, chunker, keyword, "fp32")


def test_switching_encoder_rebuilds_everything_and_says_why(notes_settings: Settings, fake_model: ModelInfo) -> None:
    build(notes_settings, fake_model, FakeEmbedder())
    report = build(notes_settings, fake_model, FakeInt8Embedder())
    assert report.reason == "the encoder changed (fp32 -> int8): full rebuild"
    assert report.reused == 0 and report.embedded > 0 and report.precision == "int8"
    manifest = load_index(notes_settings.index_dir).manifest
    assert manifest.encoder.precision == "int8"
    assert manifest.encoder == EmbedderChoice("fake", "int8", "fake")

    again = build(notes_settings, fake_model, FakeInt8Embedder())  # same encoder: every vector reused
    assert again.reason == "incremental" and again.embedded == 0 and again.reused == report.embedded

    back = build(notes_settings, fake_model, FakeEmbedder())
    assert back.reason == "the encoder changed (int8 -> fp32): full rebuild" and back.reused == 0


def test_asking_for_another_encoder_makes_the_index_stale(notes_settings: Settings, fake_model: ModelInfo) -> None:
    build(notes_settings, fake_model, FakeInt8Embedder())
    assert index_status(notes_settings).state == "fresh"  # no preference: whatever the index uses
    assert index_status(replace(notes_settings, precision="int8")).state == "fresh"
    status = index_status(replace(notes_settings, precision="fp32"))
    assert status.state == "stale" and status.reason == "the index was built with the int8 encoder"


def test_an_index_from_before_the_setting_counts_as_fp32(notes_settings: Settings, fake_model: ModelInfo) -> None:
    build(notes_settings, fake_model, FakeEmbedder())
    folder = current_build(notes_settings.index_dir)
    assert folder is not None
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["encoder"]["variant"]  # what older versions wrote
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert index_status(replace(notes_settings, precision="fp32")).state == "fresh"
    assert index_status(replace(notes_settings, precision="int8")).state == "stale"


def test_unknown_encoder_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown encoder 'int4'; use one of: fp32, int8"):
        Settings(precision="int4")
    with pytest.raises(UsageError):
        Settings.from_env({"NOTES_QA_ENCODER": "fp16"})
    assert Settings.from_env({"NOTES_QA_ENCODER": "int8"}).precision == "int8"
    assert Settings.from_env({}).precision is None


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["index", "--encoder", "int4"], {}, "argument --encoder: invalid choice: 'int4'"),
        (["ask", "x"], {"NOTES_QA_ENCODER": "fp16"}, "notes-qa: error: unknown encoder 'fp16'; use one of: fp32, int8"),
    ],
)
def test_cli_rejects_an_unknown_encoder_in_one_line(tmp_path: Path, args: list[str], env: dict[str, str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "notes_qa_cli", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        timeout=600,
    )
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_index_json_names_precision_and_backend_beside_the_old_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from .reliability_support import FakeCLI

    cli = FakeCLI(monkeypatch, capsys, tmp_path)
    notes = write_notes(tmp_path / "notes", SMALL_NOTES)
    done = cli("index", "--json", "--corpus", str(notes), "--index", str(tmp_path / "index"))
    assert done.code == 0, done.err
    report = json.loads(done.out)
    assert (report["precision"], report["backend"]) == ("fp32", "fake")
    assert (report["variant"], report["encoder"]) == (report["precision"], report["backend"])  # what scripts read
