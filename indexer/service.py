"""Open a ready-to-use searcher: build or refresh the index if needed, then load it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .build import BuildReport, ProgressFn, build_index, index_status
from .embedder import Embedder
from .errors import ModelError
from .index_files import load_index
from .model_files import ModelInfo, resolve_model
from .search import Searcher
from .settings import Settings


@dataclass(frozen=True)
class OpenedSearcher:
    searcher: Searcher
    built: BuildReport | None
    notes: tuple[str, ...] = ()


def _model_for_index(manifest: dict[str, Any], settings: Settings) -> ModelInfo:
    if settings.model_dir is not None:
        return resolve_model(settings.model_dir)
    path = Path(str(manifest["model"].get("path", "")))
    if path.is_dir():
        try:
            model = resolve_model(path)
            if model.fingerprint == manifest["model"].get("fingerprint"):
                return model
        except ModelError:
            pass
    return resolve_model(None)


def query_embedder(manifest: dict[str, Any], settings: Settings) -> tuple[Embedder, tuple[str, ...]]:
    """The encoder the index says to use for questions, checked before use."""
    from .embedder import OnnxEmbedder, SentenceTransformerEmbedder
    from .encoder_cache import cached_onnx

    model = _model_for_index(manifest, settings)
    if model.fingerprint != manifest["model"].get("fingerprint"):
        raise ModelError(
            f"the index was built with model {manifest['model'].get('id')} but {model.model_id} is at hand; "
            "rebuild with: notes-qa index --full"
        )
    query = manifest.get("encoder", {}).get("query", {})
    if isinstance(query, dict) and query.get("kind") == "onnx":
        record = cached_onnx(model, settings.cache_dir)
        if record is not None and record.sha256 == query.get("sha256"):
            return OnnxEmbedder(model, record.path), ()
        note = "the fast query encoder is missing or altered; using sentence-transformers (slower); restore it with: notes-qa index"
        return SentenceTransformerEmbedder(model), (note,)
    return SentenceTransformerEmbedder(model), ()


def open_searcher(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    auto_build: bool = True,
    progress: ProgressFn | None = None,
    token_counter: Any = None,
    model: ModelInfo | None = None,
) -> OpenedSearcher:
    """Load the index under ``settings.index_dir``, building it first if it is
    missing, or refreshing it if the notes changed since it was built."""
    built = None
    if auto_build:
        status = index_status(settings)
        if status.state != "fresh":
            built = build_index(
                settings,
                full=status.state != "stale",
                embedder=embedder,
                progress=progress,
                token_counter=token_counter,
                model=model,
                wait_seconds=600,
            )
    index = load_index(settings.index_dir)
    notes: tuple[str, ...] = ()
    if embedder is None:
        embedder, notes = query_embedder(index.manifest, settings)
    elif embedder.dim != index.manifest["model"]["dim"]:
        raise ModelError("the encoder's dimension does not match the index; rebuild with: notes-qa index --full")
    return OpenedSearcher(Searcher(index, embedder), built, notes)
