"""Torch-free sentence encoder: an ONNX export of a sentence-transformers model.

The transformer runs in onnxruntime, the text goes through the model's own
``tokenizer.json`` (via ``tokenizers``), and pooling plus L2 normalization are
done in numpy, so building an :class:`OnnxEncoder` and encoding a query never
imports torch, transformers or sentence-transformers.  Only :func:`export_onnx`
(a one-off step) needs torch and sentence-transformers.

The vectors equal those of ``SentenceTransformer(model_dir).encode(texts,
normalize_embeddings=True)`` to within float32 noise (about 1e-6); the export
checks this before it writes the file.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelError, first_line
from .model_files import offline_model_env
from .safe_read import read_text

__all__ = [
    "EncoderError",
    "OnnxEncoder",
    "VERIFY_MAX_ABS_DIFF",
    "VERIFY_MIN_COSINE",
    "export_onnx",
    "fuse_onnx",
    "quantize_onnx",
]

#: Export verification thresholds (ONNX fp32 vs sentence-transformers).
VERIFY_MAX_ABS_DIFF = 1e-4
VERIFY_MIN_COSINE = 0.99999

_DEFAULT_MAX_SEQ_LENGTH = 256
_POOLING_MODES = ("cls", "max", "mean", "mean_sqrt_len_tokens")
_LEGACY_POOLING_KEYS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}
_SUPPORTED_MODULES = ("Transformer", "Pooling", "Normalize")


class EncoderError(ModelError):
    """The ONNX encoder could not be built, exported or run (a model problem: one line, exit 5)."""


# ---------------------------------------------------------------------------
# model folder configuration (sentence-transformers layout)
# ---------------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    try:
        return json.loads(read_text(path, 50_000_000))
    except (OSError, ValueError) as exc:
        raise EncoderError(f"Cannot read {path}: it is missing, unreadable or not valid JSON.") from exc


def _read_modules(model_dir: Path) -> list[dict[str, Any]]:
    """The module list from ``modules.json`` (a plain transformer model has none)."""
    path = model_dir / "modules.json"
    if not path.is_file():  # a plain transformers folder: sentence-transformers adds mean pooling
        return [
            {"type": "sentence_transformers.models.Transformer", "path": ""},
            {"type": "sentence_transformers.models.Pooling", "path": "1_Pooling"},
        ]
    modules = _read_json(path)
    if not isinstance(modules, list):
        raise EncoderError(f"{path} does not hold a list of modules.")
    for module in modules:
        kind = str(module.get("type", "")).rsplit(".", 1)[-1]
        if kind not in _SUPPORTED_MODULES:
            raise EncoderError(f"Module {kind or '?'} in {path} is not supported by the ONNX encoder.")
    return modules


def _read_max_seq_length(model_dir: Path) -> int:
    path = model_dir / "sentence_bert_config.json"
    if not path.is_file():
        return _DEFAULT_MAX_SEQ_LENGTH
    value = _read_json(path).get("max_seq_length")
    if value is None:
        return _DEFAULT_MAX_SEQ_LENGTH
    if not isinstance(value, int) or value < 2:
        raise EncoderError(f"{path} has an invalid max_seq_length {value!r}.")
    return value


def _read_pooling_modes(model_dir: Path, modules: list[dict[str, Any]]) -> tuple[str, ...]:
    pooling = [m for m in modules if str(m.get("type", "")).endswith("Pooling")]
    if not pooling:
        raise EncoderError(f"{model_dir} has no Pooling module, so it has no sentence embedding.")
    path = model_dir / str(pooling[0].get("path", "")) / "config.json"
    if not path.is_file():
        return ("mean",)  # sentence-transformers' default
    config = _read_json(path)
    raw: Any = config.get("pooling_mode")
    if raw is None:
        raw = [mode for key, mode in _LEGACY_POOLING_KEYS.items() if config.get(key)]
    modes = (raw,) if isinstance(raw, str) else tuple(str(m) for m in raw)
    if not modes:
        modes = ("mean",)
    for mode in modes:
        if mode not in _POOLING_MODES:
            raise EncoderError(f"Pooling mode {mode!r} in {path} is not supported by the ONNX encoder.")
    return modes


def _pool(hidden: np.ndarray, mask: np.ndarray, modes: tuple[str, ...]) -> np.ndarray:
    """Pool ``hidden`` (batch, seq, dim) with right-padded ``mask`` (batch, seq) like sentence-transformers."""
    maskf = mask.astype(hidden.dtype)[:, :, None]
    out: list[np.ndarray] = []
    for mode in modes:
        if mode == "cls":
            out.append(hidden[:, 0])
        elif mode == "max":
            out.append(np.where(maskf > 0, hidden, -np.inf).max(axis=1).astype(hidden.dtype))
        else:  # mean / mean_sqrt_len_tokens
            summed = (hidden * maskf).sum(axis=1)
            counts = np.maximum(maskf.sum(axis=1), 1e-9)
            out.append(summed / (counts if mode == "mean" else np.sqrt(counts)))
    return out[0] if len(out) == 1 else np.concatenate(out, axis=1)


def _l2_normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    normalized: np.ndarray = (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
    return normalized


# ---------------------------------------------------------------------------
# the encoder
# ---------------------------------------------------------------------------


class OnnxEncoder:
    """Encode texts with an ONNX transformer; outputs match sentence-transformers.

    ``onnx_path`` is a file written by :func:`export_onnx` (or :func:`quantize_onnx`);
    ``model_dir`` is the sentence-transformers folder it was exported from, which
    supplies ``tokenizer.json``, ``max_seq_length`` and the pooling config.
    ``threads`` sets onnxruntime's intra-op threads (default: usable cores).
    ``spin`` lets those threads spin-wait for work after each run (onnxruntime's
    default): lower latency on an idle machine, a busy core a while after each call.
    """

    dim: int
    max_seq_length: int

    def __init__(self, onnx_path: Path, model_dir: Path, *, threads: int | None = None, spin: bool = True) -> None:
        onnx_path = Path(onnx_path)
        model_dir = Path(model_dir)
        modules = _read_modules(model_dir)
        self.max_seq_length = _read_max_seq_length(model_dir)
        self._pooling_modes = _read_pooling_modes(model_dir, modules)
        self._tokenizer_path = model_dir / "tokenizer.json"
        self._tokenizer = self._load_tokenizer(truncate=True)
        self._untruncated: Any = None  # built on first count_tokens()
        self._session = self._load_session(onnx_path, threads, spin)

        inputs = {i.name for i in self._session.get_inputs()}
        missing = {"input_ids", "attention_mask"} - inputs
        if missing:
            raise EncoderError(f"{onnx_path} lacks the input(s) {', '.join(sorted(missing))}.")
        self._use_token_type_ids = "token_type_ids" in inputs
        self._output_name = str(self._session.get_outputs()[0].name)
        hidden = self._session.get_outputs()[0].shape[-1]
        if not isinstance(hidden, int):
            # a dynamic hidden size: ask the model once
            hidden = int(self._run(np.array([[1, 2]], dtype=np.int64), np.ones((1, 2), np.int64)).shape[-1])
        self.dim = hidden * len(self._pooling_modes)

    # -- construction helpers ------------------------------------------------

    def _load_tokenizer(self, *, truncate: bool) -> Any:
        from tokenizers import Tokenizer

        try:
            tokenizer = Tokenizer.from_file(str(self._tokenizer_path))
        except Exception as exc:  # tokenizers raises plain Exception subclasses
            raise EncoderError(f"Cannot load the tokenizer {self._tokenizer_path}: it is missing or damaged.") from exc
        # tokenizer.json may carry its own padding/truncation (all-MiniLM-L6-v2's pads
        # and cuts at 128); sentence-transformers pads per batch and cuts at max_seq_length.
        tokenizer.no_padding()
        if truncate:
            tokenizer.enable_truncation(max_length=self.max_seq_length, strategy="longest_first", direction="right")
        else:
            tokenizer.no_truncation()
        return tokenizer

    @staticmethod
    def _load_session(onnx_path: Path, threads: int | None, spin: bool = True) -> Any:
        import onnxruntime as ort

        if not onnx_path.is_file():
            raise EncoderError(f"ONNX model {onnx_path} does not exist.")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads if threads and threads > 0 else usable_cores()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3  # errors only
        if not spin:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            return ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf/... types
            raise EncoderError(f"ONNX model {onnx_path} is damaged or not an ONNX file; export it again.") from exc

    # -- public API ------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        """Word pieces in ``text`` including [CLS]/[SEP], without truncation."""
        if self._untruncated is None:
            self._untruncated = self._load_tokenizer(truncate=False)
        return len(self._untruncated.encode(text).ids)

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """Embed ``texts``: an (n, dim) float32 array of unit vectors, in input order."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of strings, not a single string")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        # one text (a question): skip encode_batch's thread pool
        encodings = [self._tokenizer.encode(texts[0])] if len(texts) == 1 else self._tokenizer.encode_batch(list(texts))
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
        # longest first (as sentence-transformers does), so each batch holds similar lengths
        order = np.argsort(-lengths, kind="stable")
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            width = int(lengths[idx].max())
            input_ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                ids = encodings[i].ids
                input_ids[row, : len(ids)] = ids
                mask[row, : len(ids)] = 1
            hidden = self._run(input_ids, mask)
            out[idx] = _l2_normalize(_pool(hidden, mask, self._pooling_modes))
        return out

    def _run(self, input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feed = {"input_ids": input_ids, "attention_mask": mask}
        if self._use_token_type_ids:
            feed["token_type_ids"] = np.zeros_like(input_ids)
        try:
            result = self._session.run([self._output_name], feed)[0]
        except Exception as exc:
            raise EncoderError(f"onnxruntime failed to run the model: {first_line(exc)}.") from exc
        return np.asarray(result, dtype=np.float32)


def usable_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


# ---------------------------------------------------------------------------
# export / quantization
# ---------------------------------------------------------------------------

#: Texts the export is verified on: short, long (> 256 word pieces), unicode, odd whitespace.
VERIFY_TEXTS: tuple[str, ...] = (
    "",
    "a",
    "hello world",
    "How do I reset my password?",
    "  leading and trailing spaces   ",
    "Tabs\tand\nnewlines\r\nmixed in",
    "UPPER CASE AND lower case And Mixed",
    "Café naïve résumé façade – déjà vu",
    "東京は日本の首都です。北京是中国的首都。",
    "Привет, как дела? Γειά σου κόσμε.",
    "emoji 😀🚀 and symbols ©®™ ∑∫√ ≠ ≤",
    "code: def f(x): return x ** 2  # squares",
    "https://example.com/path?q=1&r=two#frag user@example.org",
    "1234567890 3.14159 -42 1e-9 0xDEADBEEF",
    "The mitochondria is the powerhouse of the cell.",
    "Notes on meeting: discuss Q3 roadmap, hiring, and budget.",
    " ".join(["lorem ipsum dolor sit amet consectetur"] * 60),
    " ".join(f"word{i}" for i in range(400)),
    "Pneumonoultramicroscopicsilicovolcanoconiosis supercalifragilisticexpialidocious",
    (
        "Alterations of the architecture of cerebral white matter in the developing human brain "
        "can affect cortical development and result in functional disabilities. "
    )
    * 8,
    "\u200b zero\u00a0width and non-breaking\u3000spaces \ufeff",
)


def _atomic_target(out_path: Path, suffix: str) -> Path:
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=suffix, dir=out_path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it 0600; give it an ordinary file's mode
    return Path(tmp)


def export_onnx(model_dir: Path, out_path: Path, *, opset: int | None = None, fuse: bool = True) -> None:
    """Export the transformer of the sentence-transformers model in ``model_dir`` to ONNX.

    The graph takes ``input_ids``, ``attention_mask`` (and ``token_type_ids`` when the
    tokenizer produces them) with dynamic batch and sequence axes and returns
    ``last_hidden_state``.  With ``fuse``, onnxruntime's transformer fusions are applied
    (:func:`fuse_onnx`); if they fail or change the vectors, the plain graph is kept.
    The result is checked against sentence-transformers on :data:`VERIFY_TEXTS`
    before it atomically replaces ``out_path``.
    """
    model_dir = Path(model_dir)
    out_path = Path(out_path)
    offline_model_env()
    import torch
    from sentence_transformers import SentenceTransformer

    try:
        model = SentenceTransformer(
            str(model_dir),
            device="cpu",
            local_files_only=True,
            model_kwargs={"attn_implementation": "eager"},
        )
    except Exception as exc:
        raise EncoderError(f"Cannot load a sentence-transformers model from {model_dir}: {first_line(exc)}.") from exc
    model.eval()
    first = model[0]
    transformer = getattr(first, "auto_model", None)
    tokenizer = getattr(first, "tokenizer", None)
    if transformer is None or tokenizer is None:
        raise EncoderError(f"The first module of {model_dir} is not a text transformer.")
    input_names = ["input_ids", "attention_mask"]
    if "token_type_ids" in getattr(tokenizer, "model_input_names", ()):
        input_names.append("token_type_ids")

    class _LastHidden(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *args: torch.Tensor) -> torch.Tensor:
            out = self.inner(**dict(zip(input_names, args, strict=True)))
            hidden: torch.Tensor = out.last_hidden_state
            return hidden

    sample = tokenizer(["a sample text", "a second, somewhat longer sample text"], padding=True, return_tensors="pt")
    args = tuple(sample[name] for name in input_names)
    dynamic_axes = {name: {0: "batch", 1: "sequence"} for name in input_names}
    dynamic_axes["last_hidden_state"] = {0: "batch", 1: "sequence"}

    tmp = _atomic_target(out_path, ".onnx")
    try:
        # the exporter warns about trace-time constants and deprecations; the check below is what counts
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _LastHidden(transformer).eval(),
                args,
                str(tmp),
                input_names=input_names,
                output_names=["last_hidden_state"],
                dynamic_axes=dynamic_axes,
                opset_version=opset,
                do_constant_folding=True,
                dynamo=False,
            )
        if not (fuse and _fuse_verified(model, tmp, model_dir)):
            _verify_export(model, tmp, model_dir)
        os.replace(tmp, out_path)
    except EncoderError:
        tmp.unlink(missing_ok=True)
        raise
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        raise EncoderError(f"Exporting {model_dir} to ONNX failed: {first_line(exc)}.") from exc


def _fuse_verified(model: Any, path: Path, model_dir: Path) -> bool:
    """Replace ``path`` by its fused graph if that gives the reference vectors; False keeps it as it is."""
    fused = _atomic_target(path, ".fused.onnx")
    try:
        if fuse_onnx(path, fused, model_dir):
            _verify_export(model, fused, model_dir)  # the fused graph must give the same vectors too
            os.replace(fused, path)
            return True
    except Exception:  # fusion is only a speed-up: keep the plain graph
        pass
    fused.unlink(missing_ok=True)
    return False


def fuse_onnx(in_path: Path, out_path: Path, model_dir: Path) -> bool:
    """Write a copy of ``in_path`` with onnxruntime's transformer fusions applied.

    Self-attention, layer norms and GELU become single fused operators (same maths,
    fewer passes over memory: about 20% faster per question here). Returns False,
    writing nothing, when no attention block could be fused. The caller verifies the
    result against sentence-transformers.
    """
    config = _read_json(Path(model_dir) / "config.json") if (Path(model_dir) / "config.json").is_file() else {}
    with _quiet_libraries():
        from onnxruntime.transformers.optimizer import optimize_model

        optimized = optimize_model(
            str(in_path),
            model_type="bert",
            num_heads=int(config.get("num_attention_heads") or 0),
            hidden_size=int(config.get("hidden_size") or 0),
            opt_level=1,
        )
    if not optimized.get_fused_operator_statistics().get("Attention"):
        return False
    optimized.save_model_to_file(str(out_path))
    return True


def _verify_export(model: Any, onnx_path: Path, model_dir: Path) -> None:
    texts = list(VERIFY_TEXTS)
    expected = np.asarray(
        model.encode(texts, batch_size=8, normalize_embeddings=True, convert_to_numpy=True),
        dtype=np.float32,
    )
    got = OnnxEncoder(onnx_path, model_dir).encode(texts, batch_size=8)
    if got.shape != expected.shape:
        raise EncoderError(f"The ONNX export gives shape {got.shape}, sentence-transformers {expected.shape}.")
    max_diff = float(np.abs(got - expected).max())
    min_cos = float((got * expected).sum(axis=1).min())
    if max_diff > VERIFY_MAX_ABS_DIFF or min_cos < VERIFY_MIN_COSINE:
        raise EncoderError(
            f"The ONNX export differs from sentence-transformers (max abs diff {max_diff:.2e}, "
            f"min cosine {min_cos:.6f})."
        )


def quantize_onnx(
    in_path: Path,
    out_path: Path,
    *,
    per_channel: bool = True,
    keep_ffn_output_fp32: bool = False,
) -> None:
    """Write an int8 dynamically quantized copy of ``in_path`` to ``out_path`` (atomic).

    The weights of the MatMuls (and of fused Attention operators) become int8, per
    output channel; activations are quantized at run time. On this machine's
    AVX-512 VNNI cores it encodes documents about 2x faster than float32, but the
    vectors are no longer identical to sentence-transformers (cosine to them about
    0.99 for all-MiniLM-L6-v2), so it is an option, never the silent default.
    ``keep_ffn_output_fp32`` leaves the feed-forward down-projections (fed by GELU,
    whose outputs have large outliers) in float32: closer vectors, less speed-up.
    The output is a deterministic function of the input file.
    """
    in_path = Path(in_path)
    out_path = Path(out_path)
    if not in_path.is_file():
        raise EncoderError(f"ONNX model {in_path} does not exist.")
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    try:
        model = onnx.load(str(in_path), load_external_data=False)
    except Exception as exc:
        raise EncoderError(f"ONNX model {in_path} is damaged or not an ONNX file.") from exc
    exclude = _ffn_output_matmuls(model.graph) if keep_ffn_output_fp32 else []
    op_types = ["MatMul"] + (["Attention"] if any(n.op_type == "Attention" for n in model.graph.node) else [])
    del model

    tmp = _atomic_target(out_path, ".onnx")
    try:
        with _quiet_libraries():
            quantize_dynamic(
                str(in_path),
                str(tmp),
                weight_type=QuantType.QInt8,
                per_channel=per_channel,
                op_types_to_quantize=op_types,
                nodes_to_exclude=exclude,
                # fused (com.microsoft) operators defeat ONNX shape inference
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )
        os.replace(tmp, out_path)
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        raise EncoderError(f"Quantizing {in_path} failed: {first_line(exc)}.") from exc


@contextmanager
def _quiet_libraries() -> Iterator[None]:
    """Silence onnxruntime's optimizer and quantizer, and undo their logging set-up.

    They log advice at WARNING on every run, and configure the root logger on
    import, after which every library's DEBUG messages would reach stderr.
    """
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _ffn_output_matmuls(graph: Any) -> list[str]:
    """Names of the MatMuls whose input comes from a GELU (a Gelu op or an Erf-based one)."""
    producer = {out: node for node in graph.node for out in node.output}

    def from_gelu(tensor: str, depth: int = 0) -> bool:
        node = producer.get(tensor)
        if node is None or depth > 3:
            return False
        if node.op_type in ("Gelu", "FastGelu", "BiasGelu", "Erf"):
            return True
        # the decomposed form: x * 0.5 * (1 + erf(x / sqrt(2)))
        return node.op_type in ("Mul", "Add") and any(from_gelu(i, depth + 1) for i in node.input)

    return [node.name for node in graph.node if node.op_type == "MatMul" and node.input and from_gelu(node.input[0])]
