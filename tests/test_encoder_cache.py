"""The cached ONNX export is used only while it is the file that was verified."""

from __future__ import annotations

import json
import os
from pathlib import Path

from indexer.encoder_cache import EXPORT_VERSION, _stamp, cached_onnx, encoder_dir
from indexer.fileio import sha256_file
from indexer.model_files import ModelInfo


def plant(model: ModelInfo, cache: Path, payload: bytes) -> Path:
    folder = encoder_dir(model, cache)
    folder.mkdir(parents=True)
    onnx = folder / "model.onnx"
    onnx.write_bytes(payload)
    record = {"model_fingerprint": model.fingerprint, "export": EXPORT_VERSION, "sha256": sha256_file(onnx), "size": len(payload),
              "stamp": _stamp(onnx)}
    (folder / "encoder.json").write_text(json.dumps(record))
    return onnx


def test_verified_file_is_found(fake_model: ModelInfo, tmp_path: Path) -> None:
    onnx = plant(fake_model, tmp_path / "cache", b"graph" * 100)
    record = cached_onnx(fake_model, tmp_path / "cache")
    assert record is not None and record.path == onnx


def test_altered_file_is_refused_even_with_the_same_size(fake_model: ModelInfo, tmp_path: Path) -> None:
    onnx = plant(fake_model, tmp_path / "cache", b"graph" * 100)
    onnx.write_bytes(b"GRAPH" * 100)
    os.utime(onnx, ns=(1, 1))
    assert cached_onnx(fake_model, tmp_path / "cache") is None


def test_other_model_or_missing_record_is_refused(fake_model: ModelInfo, tmp_path: Path) -> None:
    plant(fake_model, tmp_path / "cache", b"graph")
    other = ModelInfo(tmp_path, "other", "e" * 64, 64, 256, tmp_path / "t.json")
    assert cached_onnx(other, tmp_path / "cache") is None
    (encoder_dir(fake_model, tmp_path / "cache") / "encoder.json").write_text("{garbage")
    assert cached_onnx(fake_model, tmp_path / "cache") is None
