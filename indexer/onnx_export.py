"""Make the ONNX files the encoder runs: export (torch), fuse and quantize (onnxruntime tools).

Only a build that finds no cached file comes here (see :mod:`indexer.encoder_cache`):
:func:`export_onnx` needs torch and sentence-transformers, and checks the exported
graph against sentence-transformers on :data:`VERIFY_TEXTS` before it writes the
file; :func:`quantize_onnx` makes the int8 copy from the fp32 file.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelError, first_line
from .fileio import atomic_path
from .model_config import read_model_config
from .model_files import offline_model_env
from .onnx_encoder import OnnxEncoder

__all__ = ["VERIFY_MAX_ABS_DIFF", "VERIFY_MIN_COSINE", "VERIFY_TEXTS", "export_onnx", "fuse_onnx", "quantize_onnx"]

#: Export verification thresholds (ONNX fp32 vs sentence-transformers).
VERIFY_MAX_ABS_DIFF = 1e-4
VERIFY_MIN_COSINE = 0.99999

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
        raise ModelError(f"Cannot load a sentence-transformers model from {model_dir}: {first_line(exc)}.") from exc
    model.eval()
    first = model[0]
    transformer = getattr(first, "auto_model", None)
    tokenizer = getattr(first, "tokenizer", None)
    if transformer is None or tokenizer is None:
        raise ModelError(f"The first module of {model_dir} is not a text transformer.")
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

    try:
        with atomic_path(out_path) as tmp:
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
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"Exporting {model_dir} to ONNX failed: {first_line(exc)}.") from exc


class _NotFused(Exception):
    """No attention block could be fused: keep the plain graph."""


def _fuse_verified(model: Any, path: Path, model_dir: Path) -> bool:
    """Replace ``path`` by its fused graph if that gives the reference vectors; False keeps it as it is."""
    try:
        with atomic_path(path) as fused:
            if not fuse_onnx(path, fused, model_dir):
                raise _NotFused
            _verify_export(model, fused, model_dir)  # the fused graph must give the same vectors too
    except Exception:  # fusion is only a speed-up: keep the plain graph
        return False
    return True


def fuse_onnx(in_path: Path, out_path: Path, model_dir: Path) -> bool:
    """Write a copy of ``in_path`` with onnxruntime's transformer fusions applied.

    Self-attention, layer norms and GELU become single fused operators (same maths,
    fewer passes over memory: about 20% faster per question here). Returns False,
    writing nothing, when no attention block could be fused. The caller verifies the
    result against sentence-transformers.
    """
    config = read_model_config(Path(model_dir))
    with _quiet_libraries():
        from onnxruntime.transformers.optimizer import optimize_model

        optimized = optimize_model(
            str(in_path),
            model_type="bert",
            num_heads=config.num_attention_heads or 0,
            hidden_size=config.hidden_size or 0,
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
        raise ModelError(f"The ONNX export gives shape {got.shape}, sentence-transformers {expected.shape}.")
    max_diff = float(np.abs(got - expected).max())
    min_cos = float((got * expected).sum(axis=1).min())
    if max_diff > VERIFY_MAX_ABS_DIFF or min_cos < VERIFY_MIN_COSINE:
        raise ModelError(
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
        raise ModelError(f"ONNX model {in_path} does not exist.")
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    try:
        model = onnx.load(str(in_path), load_external_data=False)
    except Exception as exc:
        raise ModelError(f"ONNX model {in_path} is damaged or not an ONNX file.") from exc
    exclude = _ffn_output_matmuls(model.graph) if keep_ffn_output_fp32 else []
    op_types = ["MatMul"] + (["Attention"] if any(n.op_type == "Attention" for n in model.graph.node) else [])
    del model

    try:
        with atomic_path(out_path) as tmp, _quiet_libraries():
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
    except Exception as exc:
        raise ModelError(f"Quantizing {in_path} failed: {first_line(exc)}.") from exc


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
