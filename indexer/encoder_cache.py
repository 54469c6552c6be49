"""ONNX exports of models, kept in the cache folder, keyed by model fingerprint.

Two precisions per model:
- ``fp32``: the transformer exported with torch (and fused by onnxruntime),
  verified against sentence-transformers before it is used: the same vectors;
- ``int8``: a dynamically quantized copy of the fp32 file (about 2x faster,
  vectors within cosine ~0.99 of the reference), made only when asked for.

The record beside each file holds its sha256, so a damaged or replaced file is
never used: each process hashes the file before its first use (a file changed
in place with its mtime restored keeps its size, mtime and inode, so no stamp
can be trusted), and a file that fails is made again by the next build.
"""

from __future__ import annotations

import json
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from .fileio import atomic_write_text, sha256_file
from .model_files import ModelInfo
from .safe_read import read_text

#: Bumped when the export recipe changes, so older cached exports are made again.
EXPORT_VERSION = 2

_FILES = {"fp32": ("model.onnx", "encoder.json"), "int8": ("model-int8.onnx", "encoder-int8.json")}


#: The precisions an ONNX file comes in.
PRECISIONS = tuple(_FILES)


@dataclass(frozen=True)
class OnnxFile:
    """A verified ONNX file of one precision, and its sha256 (recorded in the index it builds)."""

    path: Path
    sha256: str
    precision: str = "fp32"


def encoder_dir(model: ModelInfo, cache_dir: Path) -> Path:
    return cache_dir / "encoders" / model.fingerprint[:32]


def encoder_file(model: ModelInfo, cache_dir: Path, precision: str = "fp32") -> Path:
    return encoder_dir(model, cache_dir) / _FILES[precision][0]


def _stamp(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns, stat.st_ino]


#: (file, size, mtime, ctime, inode, device) -> sha256, for files hashed by this process.
#: ctime cannot be set back by ``touch -d``, and a new process always hashes again.
_verified: dict[tuple[str, int, int, int, int, int], str] = {}


def _verified_sha256(path: Path) -> str:
    """The sha256 of ``path``, computed once per process for each version of the file."""
    info = path.stat()
    key = (str(path), info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)
    if key not in _verified:
        _verified[key] = sha256_file(path)
    return _verified[key]


def cached_onnx(
    model: ModelInfo, cache_dir: Path, *, check_hash: bool = True, precision: str = "fp32"
) -> OnnxFile | None:
    """The verified file of this precision for this model, or None if there is none (or it was altered).

    The file's sha256 is computed once per process (``check_hash``; about 0.2 s
    for 90 MB) and compared with the record; ``check_hash=False`` is only for
    reading the record of a file this process has just verified.
    """
    folder = encoder_dir(model, cache_dir)
    file_name, record_name = _FILES[precision]
    onnx_path = folder / file_name
    try:
        record = json.loads(read_text(folder / record_name, 1_000_000))
        expected = str(record["sha256"])
        if record.get("model_fingerprint") != model.fingerprint or record.get("export") != EXPORT_VERSION:
            return None
        stamp = _stamp(onnx_path)
        if stamp[0] != int(record["size"]):
            return None
        if check_hash and _verified_sha256(onnx_path) != expected:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return OnnxFile(onnx_path, expected, precision)


def _write_record(path: Path, record: dict[str, object]) -> None:
    with suppress(OSError):  # a read-only cache still works, it is just hashed every time
        atomic_write_text(path, json.dumps(record, indent=2))


def ensure_onnx(model: ModelInfo, cache_dir: Path, precision: str = "fp32") -> OnnxFile:
    """Return the verified file of ``precision``, making it if there is none.

    fp32 is exported with torch and verified against sentence-transformers;
    int8 is quantized from the fp32 file (no torch needed once that exists).
    """
    if precision not in _FILES:
        raise ValueError(f"unknown encoder precision {precision!r}")
    found = cached_onnx(model, cache_dir, precision=precision)
    if found is not None:
        return found
    folder = encoder_dir(model, cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    file_name, record_name = _FILES[precision]
    onnx_path = folder / file_name
    if precision == "fp32":
        from .onnx_export import export_onnx

        export_onnx(model.path, onnx_path)  # verifies against sentence-transformers
        source = None
    else:
        from .onnx_export import quantize_onnx

        source = ensure_onnx(model, cache_dir, "fp32")
        quantize_onnx(source.path, onnx_path)
    digest = sha256_file(onnx_path)
    record: dict[str, object] = {
        "model_fingerprint": model.fingerprint,
        "model_path": str(model.path),
        "export": EXPORT_VERSION,
        "variant": precision,  # the key older caches wrote
        "sha256": digest,
        "size": onnx_path.stat().st_size,
        "stamp": _stamp(onnx_path),
    }
    if source is not None:
        record["quantized_from_sha256"] = source.sha256
    _write_record(folder / record_name, record)
    return OnnxFile(onnx_path, digest, precision)
