"""ONNX exports of models, kept in the cache folder, keyed by model fingerprint.

An export is made once per model (with torch, when an index is built) and
verified against sentence-transformers before it is used. The record beside it
holds its sha256, so a damaged or replaced file is never used.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .index_files import sha256_file
from .model_files import ModelInfo


@dataclass(frozen=True)
class EncoderRecord:
    kind: str  # "onnx"
    path: Path
    sha256: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "file": str(self.path), "sha256": self.sha256}


def encoder_dir(model: ModelInfo, cache_dir: Path) -> Path:
    return cache_dir / "encoders" / model.fingerprint[:32]


def _stamp(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns, stat.st_ino]


def cached_onnx(model: ModelInfo, cache_dir: Path, *, check_hash: bool = True) -> EncoderRecord | None:
    """The verified export for this model, or None if there is none (or it was altered).

    The file's sha256 is recomputed unless its size, mtime and inode still equal
    those recorded when it was hashed: a changed file always changes its stamp,
    and hashing 90 MB on every question would cost more than answering it.
    """
    folder = encoder_dir(model, cache_dir)
    record_path = folder / "encoder.json"
    onnx_path = folder / "model.onnx"
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        expected = str(record["sha256"])
        if record.get("model_fingerprint") != model.fingerprint:
            return None
        stamp = _stamp(onnx_path)
        if stamp[0] != int(record["size"]):
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if check_hash and record.get("stamp") != stamp:
        if sha256_file(onnx_path) != expected:
            return None
        _write_record(folder, dict(record, stamp=stamp))
    return EncoderRecord("onnx", onnx_path, expected)


def _write_record(folder: Path, record: dict[str, object]) -> None:
    tmp = folder / f"encoder.json.tmp-{os.getpid()}"
    try:
        tmp.write_text(json.dumps(record, indent=2), encoding="utf-8")
        os.replace(tmp, folder / "encoder.json")
    except OSError:  # a read-only cache still works, it is just hashed every time
        tmp.unlink(missing_ok=True)


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
    digest = sha256_file(onnx_path)
    record = {
        "model_fingerprint": model.fingerprint,
        "model_path": str(model.path),
        "sha256": digest,
        "size": onnx_path.stat().st_size,
        "stamp": _stamp(onnx_path),
    }
    _write_record(folder, record)
    return EncoderRecord("onnx", onnx_path, digest)
