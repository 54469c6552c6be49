"""Turn texts into normalized float32 vectors: the embedder interface, its backends and the recorded choice.

Two real backends give the same vectors for the same model:
- ``sentence-transformers`` (:class:`SentenceTransformerEmbedder`) loads the model
  with torch (about 5 s to import) and is the reference;
- ``onnx`` (:class:`OnnxEmbedder`) runs an ONNX export of the same weights with
  onnxruntime (no torch; a third of a second to start), checked against the
  reference when it is exported. Indexing and questions use it.

An embedder's ``precision`` says which vectors it gives: ``fp32`` (those of
sentence-transformers) or ``int8`` (a quantized ONNX file: faster, close but not
equal). An index is built and queried with one precision.

Documents and questions go through separate methods, :meth:`Embedder.embed_documents`
and :meth:`Embedder.embed_query`: e5/bge-style models prefix them differently
(``query_prefix``, ``document_prefix``); all-MiniLM-L6-v2 uses none, so both
give the same vectors for the same text.

Which backend an index was built and is queried with is recorded in its manifest
as an :class:`EmbedderChoice`; :mod:`indexer.embedder_factory` turns one into an
embedder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .errors import ModelError
from .model_files import ModelInfo, offline_model_env

if TYPE_CHECKING:
    import numpy as np
    from sentence_transformers import SentenceTransformer


class Embedder(Protocol):
    """Encodes texts to L2-normalized float32 vectors of ``dim`` numbers."""

    model_id: str
    dim: int
    backend: str  # "onnx", "sentence-transformers" or a registered test double's name
    precision: str  # "fp32" (the reference vectors) or "int8"

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of the texts an index holds: shape (len(texts), dim)."""
        ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of questions, many at once (evaluation): shape (len(texts), dim)."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """The vector of one question: shape (dim,)."""
        ...


class BaseEmbedder:
    """Implements the three ``embed_*`` methods over one ``_encode`` of prefixed texts."""

    #: Put before each question / document (e5: "query: " / "passage: "); none for MiniLM.
    query_prefix = ""
    document_prefix = ""

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        prefix = self.document_prefix
        return self._encode([prefix + t for t in texts] if prefix else texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        prefix = self.query_prefix
        return self._encode([prefix + t for t in texts] if prefix else texts)

    def embed_query(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.embed_queries([text])[0]
        return vector


@dataclass(frozen=True)
class EmbedderChoice:
    """The manifest's ``"encoder"`` section: how an index was embedded and how its questions are.

    ``precision``: the vectors' precision ("fp32" or "int8"); ``built_with``: the
    backend that embedded the documents; ``backend``: the one questions use (the
    ONNX file named by ``file`` and ``sha256`` when it is "onnx", else one that
    needs no file). Written with the keys indexes have always had
    (``variant``, ``build``, ``query: {kind, variant, file, sha256}``).
    """

    backend: str
    precision: str = "fp32"
    built_with: str = ""
    file: str | None = None
    sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        query: dict[str, Any] = {"kind": self.backend, "variant": self.precision}
        if self.file is not None:
            query["file"] = self.file
        if self.sha256 is not None:
            query["sha256"] = self.sha256
        return {"variant": self.precision, "build": self.built_with or self.backend, "query": query}

    @classmethod
    def from_json(cls, data: object) -> EmbedderChoice:
        """Read the section (an index older than the section was embedded with sentence-transformers, fp32)."""
        if not isinstance(data, dict):
            return cls("sentence-transformers", "fp32", "sentence-transformers")
        precision = str(data.get("variant", "fp32"))
        query = data.get("query")
        if not isinstance(query, dict):
            return cls("sentence-transformers", precision, str(data.get("build", "sentence-transformers")))
        file, sha256 = query.get("file"), query.get("sha256")
        return cls(
            backend=str(query.get("kind", "sentence-transformers")),
            precision=str(query.get("variant", precision)),
            built_with=str(data.get("build", "")),
            file=None if file is None else str(file),
            sha256=None if sha256 is None else str(sha256),
        )


class SentenceTransformerEmbedder(BaseEmbedder):
    backend = "sentence-transformers"
    precision = "fp32"

    def __init__(self, model: ModelInfo, *, batch_size: int = 32) -> None:
        self.model = model
        self.model_id = model.model_id
        self.dim = model.dim
        self.batch_size = batch_size
        self._st: SentenceTransformer | None = None

    def _load(self) -> SentenceTransformer:
        if self._st is None:
            offline_model_env()
            try:
                from sentence_transformers import SentenceTransformer

                self._st = SentenceTransformer(str(self.model.path), device="cpu", local_files_only=True)
            except ImportError as exc:
                raise ModelError("sentence-transformers is not installed", fix="run: pip install -e .") from exc
            except Exception as exc:  # the library raises many types for a bad folder
                raise ModelError(f"cannot load the model at {self.model.path}: {exc}".splitlines()[0]) from exc
        return self._st

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
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


class OnnxEmbedder(BaseEmbedder):
    """The ONNX encoder behind the Embedder protocol.

    An ``int8`` file quantizes activations per batch (one scale for the whole
    batch tensor), so a text's vector would depend on the texts batched with it.
    Each text is therefore encoded on its own, which makes its vector the same at
    index time and at question time. For throughput, large inputs are then spread
    over one single-threaded session per core, which beats one multi-threaded
    session on batches of one.
    """

    backend = "onnx"

    def __init__(
        self, model: ModelInfo, onnx_path: Path, *, precision: str = "fp32", batch_size: int = 8, spin: bool = True
    ) -> None:
        from .onnx_encoder import OnnxEncoder

        self.precision = precision
        self.model = model
        self.model_id = model.model_id
        self.dim = model.dim
        # fp32: batch 8 measured faster than 32 on 2 cores (benchmarks/encode_throughput.py --sweep)
        self.batch_size = 1 if precision == "int8" else batch_size
        self._path = onnx_path
        self._workers: list[OnnxEncoder] = []
        self._encoder = OnnxEncoder(onnx_path, model.path, spin=spin)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        from .cores import usable_cores

        if self.batch_size == 1 and len(texts) >= _PARALLEL_FROM and usable_cores() > 1:
            return self._encode_parallel(texts)
        return self._encoder.encode(texts, batch_size=self.batch_size)

    def _encode_parallel(self, texts: Sequence[str]) -> np.ndarray:
        from concurrent.futures import ThreadPoolExecutor

        import numpy as np

        from .cores import usable_cores
        from .onnx_encoder import OnnxEncoder

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
