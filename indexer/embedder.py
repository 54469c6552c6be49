"""Turn texts into normalized float32 vectors.

Two real encoders give the same vectors for the same model:
- ``SentenceTransformerEmbedder`` loads the model with sentence-transformers
  (torch; about 5 s to import) and is the reference;
- ``OnnxEmbedder`` runs an ONNX export of the same weights with onnxruntime
  (no torch; a third of a second to start), checked against the reference
  when it is exported. Indexing and questions use it.

An embedder's ``variant`` says which vectors it gives: ``fp32`` (those of
sentence-transformers) or ``int8`` (a quantized ONNX file: faster, close but not
equal). An index is built and queried with one variant.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .errors import ModelError
from .model_files import ModelInfo, offline_model_env

if TYPE_CHECKING:
    import numpy as np


class Embedder(Protocol):
    """Encodes a batch of texts to L2-normalized float32 vectors of shape (n, dim)."""

    model_id: str
    dim: int
    kind: str  # "sentence-transformers", "onnx" or a test double's name
    variant: str  # "fp32" (the reference vectors) or "int8"

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    kind = "sentence-transformers"
    variant = "fp32"

    def __init__(self, model: ModelInfo, *, batch_size: int = 32) -> None:
        self.model = model
        self.model_id = model.model_id
        self.dim = model.dim
        self.batch_size = batch_size
        self._st = None

    def _load(self):  # type: ignore[no-untyped-def]
        if self._st is None:
            offline_model_env()
            try:
                from sentence_transformers import SentenceTransformer

                self._st = SentenceTransformer(str(self.model.path), device="cpu", local_files_only=True)
            except ImportError as exc:
                raise ModelError("sentence-transformers is not installed; run: pip install -e .") from exc
            except Exception as exc:  # the library raises many types for a bad folder
                raise ModelError(f"cannot load the model at {self.model.path}: {exc}".splitlines()[0]) from exc
        return self._st

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        st = self._load()
        vectors = st.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class OnnxEmbedder:
    """The ONNX encoder behind the Embedder protocol.

    An ``int8`` file quantizes activations per batch (one scale for the whole
    batch tensor), so a text's vector would depend on the texts batched with it.
    Each text is therefore encoded on its own, which makes its vector the same at
    index time and at question time. For throughput, large inputs are then spread
    over one single-threaded session per core, which beats one multi-threaded
    session on batches of one.
    """

    kind = "onnx"

    def __init__(
        self, model: ModelInfo, onnx_path: Path, *, variant: str = "fp32", batch_size: int = 8, spin: bool = True
    ) -> None:
        from .onnx_encoder import EncoderError, OnnxEncoder

        self.variant = variant
        self.model = model
        self.model_id = model.model_id
        self.dim = model.dim
        # fp32: batch 8 measured faster than 32 on 2 cores (benchmarks/encode_throughput.py --sweep)
        self.batch_size = 1 if variant == "int8" else batch_size
        self._path = onnx_path
        self._workers: list[OnnxEncoder] = []
        try:
            self._encoder = OnnxEncoder(onnx_path, model.path, spin=spin)
        except EncoderError as exc:
            raise ModelError(str(exc)) from exc

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        from .onnx_encoder import usable_cores

        if self.batch_size == 1 and len(texts) >= _PARALLEL_FROM and usable_cores() > 1:
            return self._embed_parallel(texts)
        return self._encoder.encode(texts, batch_size=self.batch_size)

    def _embed_parallel(self, texts: Sequence[str]) -> np.ndarray:
        from concurrent.futures import ThreadPoolExecutor

        import numpy as np

        from .onnx_encoder import OnnxEncoder, usable_cores

        if not self._workers:  # onnxruntime releases the GIL while it runs
            self._workers = [OnnxEncoder(self._path, self.model.path, threads=1) for _ in range(usable_cores())]
        n = len(self._workers)
        parts = [list(texts[i::n]) for i in range(n)]  # interleaved: similar lengths per worker
        with ThreadPoolExecutor(n) as pool:
            done = list(pool.map(lambda w, t: w.encode(t, batch_size=1), self._workers, parts))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, vectors in enumerate(done):
            out[i::n] = vectors
        return out


#: Inputs this long are spread over per-core sessions (batches of one only).
_PARALLEL_FROM = 16
