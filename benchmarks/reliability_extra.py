"""Issue 12 cases that need a patched file system or encoder (F3, F13, F15, ModelError mid-build), in-process.

Runs the real CLI (``notes_qa_cli.main``) with the fake model, and prints one line per case. Point
PYTHONPATH at another checkout (and run from it) to see what older code did::

    PYTHONPATH=. .venv/bin/python benchmarks/reliability_extra.py
    cd OLD_CHECKOUT && PYTHONPATH=. /path/to/.venv/bin/python /path/to/benchmarks/reliability_extra.py
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

import indexer.build
import indexer.lock
from indexer.embedder_factory import register_backend
from indexer.encoder_cache import EXPORT_VERSION, _stamp, cached_onnx, encoder_dir
from indexer.errors import ModelError
from indexer.fileio import sha256_file
from indexer.model_files import ModelInfo
from notes_qa_cli.main import main
from tests.conftest import SMALL_NOTES, write_notes
from tests.fakes import FakeBackend, FakeEmbedder
from tests.reliability_support import fake_model_info, use_fake_model


def run(*argv: str) -> str:
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            code: Any = main(list(argv))
        except BaseException as exc:  # what the old code let escape
            code = f"uncaught {type(exc).__name__}: {str(exc)[:80]}"
    lines = [line for line in err.getvalue().splitlines() if line.strip()]
    return f"exit {code} | {(lines[-1] if lines else '')[:200]} | answered: {'storage.md' in out.getvalue()}"


def encoder_altered_in_place(folder: Path) -> str:
    model = ModelInfo(folder, "fake", "f" * 64, 64, 256, folder / "t.json")
    where = encoder_dir(model, folder / "cache")
    where.mkdir(parents=True)
    onnx = where / "model.onnx"
    onnx.write_bytes(b"graph" * 100)
    record = {"model_fingerprint": model.fingerprint, "export": EXPORT_VERSION, "sha256": sha256_file(onnx),
              "size": 500, "stamp": _stamp(onnx)}
    (where / "encoder.json").write_text(json.dumps(record))
    before = cached_onnx(model, folder / "cache") is not None
    info = onnx.stat()
    with open(onnx, "r+b") as handle:
        handle.write(bytes(500))  # zeros, same size and inode
    os.utime(onnx, ns=(info.st_atime_ns, info.st_mtime_ns))
    return f"trusted before: {before}; trusted after the change (mtime restored): {cached_onnx(model, folder / 'cache') is not None}"


class WrongDimension(FakeEmbedder):
    def _encode(self, texts: Any) -> np.ndarray:
        vectors = super()._encode(texts)[:, :32]
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


class Failing(FakeEmbedder):
    def _encode(self, texts: Any) -> np.ndarray:
        raise ModelError("onnxruntime failed to run the model: out of memory.")


def main_cases() -> None:
    folder = Path(tempfile.mkdtemp())
    os.environ["NOTES_QA_CACHE"] = str(folder / "cache")
    print("F3 encoder changed in place:", encoder_altered_in_place(folder / "f3"))
    use_fake_model(setattr, fake_model_info(folder / "model"))
    notes = write_notes(folder / "notes", SMALL_NOTES)
    args = ["--corpus", str(notes), "--index", str(folder / "index")]
    run("index", *args)
    (notes / "cache.md").write_text("# Cache\n\n- Redis sorted sets\n")
    real_open = os.open

    def read_only(path: Any, flags: int, *rest: Any) -> int:
        if str(path).endswith(".lock") and flags & (os.O_RDWR | os.O_WRONLY):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *rest)

    setattr(indexer.lock.os, "open", read_only)  # noqa: B010 - the same module object as os
    print("F15/F16 index, read-only index folder:", run("index", *args))
    print("F15 ask, notes changed, read-only index:", run("ask", *args, "S3 durability"))
    setattr(indexer.lock.os, "open", real_open)  # noqa: B010
    real_write = indexer.build._write_build

    def disk_full(*_: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    setattr(indexer.build, "_write_build", disk_full)  # noqa: B010
    print("F15 ask, notes changed, disk full:", run("ask", *args, "S3 durability"))
    setattr(indexer.build, "_write_build", real_write)  # noqa: B010
    register_backend("fake", FakeBackend(WrongDimension), for_builds=True)
    print("F13 index, encoder gives 32-d, config says 64:", run("index", "--full", *args))
    print("F13 then ask --no-build:", run("ask", "--no-build", *args, "S3 durability"))
    register_backend("fake", FakeBackend(Failing), for_builds=True)
    print("ModelError mid-build:", run("index", "--full", *args))


if __name__ == "__main__":
    main_cases()
