"""Torch-free sentence encoder: an ONNX export of a sentence-transformers model, at run time.

The transformer runs in onnxruntime, the text goes through the model's own
``tokenizer.json`` (via ``tokenizers``), and pooling plus L2 normalization are
done in numpy, so building an :class:`OnnxEncoder` and encoding a query never
imports torch, transformers or sentence-transformers. The file it runs is made
(once, with torch) by :mod:`indexer.onnx_export`, which checks that its vectors
equal those of ``SentenceTransformer(model_dir).encode(texts,
normalize_embeddings=True)`` to within float32 noise (about 1e-6).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .cores import usable_cores
from .errors import ModelError, first_line
from .model_config import read_model_config

__all__ = ["OnnxEncoder"]

#: sentence-transformers' cut when the folder does not say (no sentence_bert_config.json).
_DEFAULT_MAX_SEQ_LENGTH = 256


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


class OnnxEncoder:
    """Encode texts with an ONNX transformer; outputs match sentence-transformers.

    ``onnx_path`` is a file written by :mod:`indexer.onnx_export`;
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
        config = read_model_config(model_dir)
        problem = config.onnx_problem()
        if problem is not None:
            raise ModelError(problem)
        self.max_seq_length = config.max_seq_length or _DEFAULT_MAX_SEQ_LENGTH
        self._pooling_modes = config.pooling_modes
        self._tokenizer_path = model_dir / "tokenizer.json"
        self._tokenizer = self._load_tokenizer(truncate=True)
        self._untruncated: Any = None  # built on first count_tokens()
        self._session = self._load_session(onnx_path, threads, spin)

        inputs = {i.name for i in self._session.get_inputs()}
        missing = {"input_ids", "attention_mask"} - inputs
        if missing:
            raise ModelError(f"{onnx_path} lacks the input(s) {', '.join(sorted(missing))}.")
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
            raise ModelError(f"Cannot load the tokenizer {self._tokenizer_path}: it is missing or damaged.") from exc
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
            raise ModelError(f"ONNX model {onnx_path} does not exist.")
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
            raise ModelError(f"ONNX model {onnx_path} is damaged or not an ONNX file", fix="export it again") from exc

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
            raise ModelError(f"onnxruntime failed to run the model: {first_line(exc)}.") from exc
        return np.asarray(result, dtype=np.float32)
