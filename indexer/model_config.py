"""Read a sentence-transformers model folder's configuration, once, for every user.

The folder describes itself in ``config.json`` (the transformer), ``modules.json``
(the module pipeline), ``sentence_bert_config.json`` (``max_seq_length``) and the
Pooling module's ``config.json``. :func:`read_model_config` reads all of them into
one frozen :class:`ModelConfig`; :mod:`indexer.model_files` (dimension, token
limit) and the ONNX encoder (pooling, truncation) both take their answers from it.

Nothing here rejects what only one backend cannot run (a Dense module, weighted
mean pooling): sentence-transformers runs those, the ONNX encoder refuses them
(see :meth:`ModelConfig.onnx_problem`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ModelError
from .safe_read import read_text

#: Pooling modes the ONNX encoder computes (as sentence-transformers' Pooling does).
ONNX_POOLING_MODES = ("cls", "max", "mean", "mean_sqrt_len_tokens")
#: Modules the ONNX encoder can stand in for.
ONNX_MODULES = ("Transformer", "Pooling", "Normalize")

_LEGACY_POOLING_KEYS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}
#: What sentence-transformers assumes for a plain transformers folder (no modules.json).
_PLAIN_MODULES = (("Transformer", ""), ("Pooling", "1_Pooling"))


@dataclass(frozen=True)
class ModelConfig:
    """What a model folder's configuration files say (None: the file does not say)."""

    folder: Path
    modules: tuple[tuple[str, str], ...]  # (type, sub-folder), e.g. ("Pooling", "1_Pooling")
    hidden_size: int | None
    max_position_embeddings: int | None
    num_attention_heads: int | None
    max_seq_length: int | None  # sentence_bert_config.json
    pooling_dimension: int | None  # the Pooling module's word_embedding_dimension
    pooling_modes: tuple[str, ...]  # each adds one vector of the pooled size

    @property
    def pooling_config(self) -> Path | None:
        """The Pooling module's ``config.json`` (None: the folder has no Pooling module)."""
        for kind, sub in self.modules:
            if kind == "Pooling":
                return self.folder / sub / "config.json"
        return None

    @property
    def dim(self) -> int | None:
        """The sentence vector's size: the pooled size times the number of pooling modes."""
        dim = self.pooling_dimension if self.pooling_dimension is not None else self.hidden_size
        return None if dim is None else dim * max(1, len(self.pooling_modes))

    def onnx_problem(self) -> str | None:
        """Why the ONNX encoder cannot run this model, or None if it can."""
        for kind, _ in self.modules:
            if kind not in ONNX_MODULES:
                return f"Module {kind or '?'} in {self.folder / 'modules.json'} is not supported by the ONNX encoder."
        if self.pooling_config is None:
            return f"{self.folder} has no Pooling module, so it has no sentence embedding."
        for mode in self.pooling_modes:
            if mode not in ONNX_POOLING_MODES:
                return f"Pooling mode {mode!r} in {self.pooling_config} is not supported by the ONNX encoder."
        return None


def read_json(path: Path) -> Any:
    """The JSON in ``path`` (a model folder's file), or a :class:`ModelError` saying it is not readable."""
    try:
        return json.loads(read_text(path, 50_000_000))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelError(f"{path} is not readable JSON ({exc.__class__.__name__}); is this a model folder?") from exc


def read_json_object(path: Path) -> dict[str, Any]:
    data = read_json(path)
    if not isinstance(data, dict):
        raise ModelError(f"{path} is not a JSON object; is this a model folder?")
    return data


def _optional_int(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _read_modules(folder: Path) -> tuple[tuple[str, str], ...]:
    path = folder / "modules.json"
    if not path.is_file():
        return _PLAIN_MODULES
    modules = read_json(path)
    if not isinstance(modules, list) or not all(isinstance(m, dict) for m in modules):
        raise ModelError(f"{path} does not hold a list of modules.")
    return tuple((str(m.get("type", "")).rsplit(".", 1)[-1], str(m.get("path", ""))) for m in modules)


def _read_pooling(path: Path | None) -> tuple[int | None, tuple[str, ...]]:
    if path is None:
        return None, ()
    if not path.is_file():
        return None, ("mean",)  # sentence-transformers' default
    config = read_json_object(path)
    raw: Any = config.get("pooling_mode")
    if raw is None:
        raw = [mode for key, mode in _LEGACY_POOLING_KEYS.items() if config.get(key) is True]
    modes = (raw,) if isinstance(raw, str) else tuple(str(m) for m in raw)
    return _optional_int(config, "word_embedding_dimension"), modes or ("mean",)


def _read_max_seq_length(folder: Path) -> int | None:
    path = folder / "sentence_bert_config.json"
    if not path.is_file():
        return None
    value = read_json_object(path).get("max_seq_length")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 2:
        raise ModelError(f"{path} has an invalid max_seq_length {value!r}.")
    return value


def read_model_config(folder: Path) -> ModelConfig:
    """Read ``folder``'s configuration files (``config.json`` may be missing: all its values are then None)."""
    folder = Path(folder)
    config_json = folder / "config.json"
    config = read_json_object(config_json) if config_json.is_file() else {}
    modules = _read_modules(folder)
    pooling = next((folder / sub / "config.json" for kind, sub in modules if kind == "Pooling"), None)
    pooling_dimension, pooling_modes = _read_pooling(pooling)
    return ModelConfig(
        folder=folder,
        modules=modules,
        hidden_size=_optional_int(config, "hidden_size"),
        max_position_embeddings=_optional_int(config, "max_position_embeddings"),
        num_attention_heads=_optional_int(config, "num_attention_heads"),
        max_seq_length=_read_max_seq_length(folder),
        pooling_dimension=pooling_dimension,
        pooling_modes=pooling_modes,
    )
