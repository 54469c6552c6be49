"""Turn texts into normalized float32 vectors.

Two real encoders give the same vectors for the same model:
- ``SentenceTransformerEmbedder`` loads the model with sentence-transformers
  (torch; about 5 s to import) and is the reference;
- ``OnnxEmbedder`` runs an ONNX export of the same weights with onnxruntime
  (no torch; a third of a second to start), checked against the reference
  when it is exported. Queries and incremental rebuilds use it.
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

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    kind = "sentence-transformers"

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
    kind = "onnx"

    def __init__(self, model: ModelInfo, onnx_path: Path, *, batch_size: int = 32) -> None:
        from .onnx_encoder import EncoderError, OnnxEncoder

        self.model = model
        self.model_id = model.model_id
        self.dim = model.dim
        self.batch_size = batch_size
        try:
            self._encoder = OnnxEncoder(onnx_path, model.path)
        except EncoderError as exc:
            raise ModelError(str(exc)) from exc

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self._encoder.encode(texts, batch_size=self.batch_size)
