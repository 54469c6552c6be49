"""ONNX exports of models, kept in the cache folder, keyed by model fingerprint.

An export is made once per model (with torch, when an index is built) and
verified against sentence-transformers before it is used. The record beside it
holds its sha256, so a damaged or replaced file is never used.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .model_files import ModelInfo


@dataclass(frozen=True)
class EncoderRecord:
    kind: str  # "onnx"
    path: Path
    sha256: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "file": str(self.path), "sha256": self.sha256}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def encoder_dir(model: ModelInfo, cache_dir: Path) -> Path:
    return cache_dir / "encoders" / model.fingerprint[:32]


def cached_onnx(model: ModelInfo, cache_dir: Path, *, check_hash: bool = True) -> EncoderRecord | None:
    """The verified export for this model, or None if there is none (or it was altered)."""
    folder = encoder_dir(model, cache_dir)
    record_path = folder / "encoder.json"
    onnx_path = folder / "model.onnx"
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        expected = str(record["sha256"])
        size = int(record["size"])
        if record.get("model_fingerprint") != model.fingerprint:
            return None
        if onnx_path.stat().st_size != size:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if check_hash and file_sha256(onnx_path) != expected:
        return None
    return EncoderRecord("onnx", onnx_path, expected)


def ensure_onnx(model: ModelInfo, cache_dir: Path) -> EncoderRecord:
    """Return the verified export, exporting (with torch) if there is none."""
    found = cached_onnx(model, cache_dir)
    if found is not None:
        return found
    from .onnx_encoder import export_onnx

    folder = encoder_dir(model, cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    onnx_path = folder / "model.onnx"
    export_onnx(model.path, onnx_path)  # verifies against sentence-transformers
    digest = file_sha256(onnx_path)
    record = {
        "model_fingerprint": model.fingerprint,
        "model_path": str(model.path),
        "sha256": digest,
        "size": onnx_path.stat().st_size,
    }
    tmp = folder / f"encoder.json.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(record, indent=2), encoding="utf-8")
    os.replace(tmp, folder / "encoder.json")
    return EncoderRecord("onnx", onnx_path, digest)
