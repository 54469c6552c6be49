"""Choose the embedder: by the settings when an index is built, by its manifest when it answers.

Backends are registered by name. Two come built in:
- ``onnx``: the ONNX export of the model (precision ``fp32`` or ``int8``), made
  and verified on first use (:mod:`indexer.encoder_cache`); what builds use;
- ``sentence-transformers``: the reference (torch), standing in for an fp32
  ONNX file that cannot be made or has gone missing.

The rest of the engine calls :func:`embedder_for_build`, :func:`embedder_for_index`
(or :func:`query_embedder`, which also finds the model the index names) and
:func:`choice_for` (what the manifest records). Tests register a fake backend with
:func:`register_backend` instead of patching modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .embedder import Embedder, EmbedderChoice, OnnxEmbedder, SentenceTransformerEmbedder
from .encoder_cache import PRECISIONS, cached_onnx, ensure_onnx
from .errors import REBUILD, ModelError, first_line, os_reason
from .model_files import ModelInfo, resolve_model

__all__ = [
    "EmbedderBackend",
    "RecordedModel",
    "choice_for",
    "embedder_for_build",
    "embedder_for_index",
    "model_for_index",
    "query_embedder",
    "register_backend",
    "restore_backends",
    "saved_backends",
]


class EmbedderBackend(Protocol):
    """Makes embedders of one kind, for a build and for an index's questions."""

    def for_build(self, model: ModelInfo, cache_dir: Path, precision: str, notes: list[str]) -> Embedder:
        """The embedder a build of ``precision`` uses (``notes``: warnings for the user)."""
        ...

    def for_index(
        self, choice: EmbedderChoice, model: ModelInfo, cache_dir: Path, *, spin: bool
    ) -> tuple[Embedder, tuple[str, ...]]:
        """The embedder for questions to an index that recorded ``choice``, and notes for the user."""
        ...


class RecordedModel(Protocol):
    """What the factory reads of the model an index names (``indexer.manifest.ModelRecord``)."""

    @property
    def id(self) -> str: ...

    @property
    def fingerprint(self) -> str: ...

    @property
    def path(self) -> str: ...


class SentenceTransformersBackend:
    def for_build(self, model: ModelInfo, cache_dir: Path, precision: str, notes: list[str]) -> Embedder:
        if precision != "fp32":
            raise ModelError(f"sentence-transformers gives fp32 vectors, not {precision}", fix="use --encoder fp32")
        return SentenceTransformerEmbedder(model)

    def for_index(
        self, choice: EmbedderChoice, model: ModelInfo, cache_dir: Path, *, spin: bool
    ) -> tuple[Embedder, tuple[str, ...]]:
        return SentenceTransformerEmbedder(model), ()


class OnnxBackend:
    def for_build(self, model: ModelInfo, cache_dir: Path, precision: str, notes: list[str]) -> Embedder:
        """The ONNX file of ``precision``, made (and verified) if needed.

        For fp32, sentence-transformers gives the same vectors, so it stands in when
        no export can be made (saying why in ``notes``); int8 has no stand-in, so
        that is an error.
        """
        record = cached_onnx(model, cache_dir, precision=precision)
        if record is None:
            try:
                record = ensure_onnx(model, cache_dir, precision)
            except Exception as exc:  # export is an optimisation: fall back to the reference encoder
                if precision == "fp32":
                    notes.append(f"cannot make the fast encoder in {cache_dir} ({os_reason(exc)}); "
                                 "embedding with sentence-transformers (slower); check NOTES_QA_CACHE")
                    return SentenceTransformerEmbedder(model)
                raise ModelError(f"cannot make the {precision} encoder ({first_line(exc)})",
                                 fix="use --encoder fp32") from exc
        return OnnxEmbedder(model, record.path, precision=precision)

    def for_index(
        self, choice: EmbedderChoice, model: ModelInfo, cache_dir: Path, *, spin: bool
    ) -> tuple[Embedder, tuple[str, ...]]:
        """The recorded ONNX file, checked by its sha256 before use."""
        precision = choice.precision
        if precision not in PRECISIONS:
            raise ModelError(f"the index names an unknown encoder {precision!r}", fix=REBUILD)
        record = cached_onnx(model, cache_dir, precision=precision)
        if record is not None and record.sha256 == choice.sha256:
            return OnnxEmbedder(model, record.path, precision=precision, spin=spin), ()
        if precision == "fp32":
            note = ("the fast query encoder is missing or altered; using sentence-transformers (slower); "
                    "restore it with: notes-qa index")
            return SentenceTransformerEmbedder(model), (note,)
        # Quantizing is deterministic: make the file again and use it if it is the same one.
        try:
            record = ensure_onnx(model, cache_dir, precision)
        except Exception as exc:
            raise ModelError(
                f"the {precision} encoder this index was built with is missing and cannot be made again "
                f"({first_line(exc)})",
                fix="rebuild with: notes-qa index --full --encoder fp32",
            ) from exc
        if record.sha256 != choice.sha256:
            raise ModelError(
                f"the {precision} encoder this index was built with is missing or altered, and a new one differs",
                fix=f"rebuild with: notes-qa index --full --encoder {precision}",
            )
        embedder = OnnxEmbedder(model, record.path, precision=precision, spin=spin)
        return embedder, (f"made the {precision} query encoder again (it was missing)",)


@dataclass
class _Registry:
    backends: dict[str, EmbedderBackend]
    for_builds: str


_REGISTRY = _Registry({"onnx": OnnxBackend(), "sentence-transformers": SentenceTransformersBackend()}, "onnx")
#: What questions to an index use when it names no backend registered here (indexes from before the
#: ONNX encoder, or built by a test double): the reference, which gives the fp32 vectors.
_FALLBACK = "sentence-transformers"


def register_backend(name: str, backend: EmbedderBackend, *, for_builds: bool = False) -> None:
    """Make ``backend`` the one for indexes that record ``name`` (and, with ``for_builds``, the one builds use)."""
    _REGISTRY.backends[name] = backend
    if for_builds:
        _REGISTRY.for_builds = name


def saved_backends() -> object:
    """The registry as it is now, for :func:`restore_backends` (tests undo their registrations)."""
    return _Registry(dict(_REGISTRY.backends), _REGISTRY.for_builds)


def restore_backends(saved: object) -> None:
    assert isinstance(saved, _Registry)
    _REGISTRY.backends = dict(saved.backends)
    _REGISTRY.for_builds = saved.for_builds


def embedder_for_build(
    model: ModelInfo, cache_dir: Path, precision: str = "fp32", notes: list[str] | None = None
) -> Embedder:
    """The embedder a build of ``precision`` uses; warnings (a slower stand-in) are appended to ``notes``."""
    backend = _REGISTRY.backends[_REGISTRY.for_builds]
    return backend.for_build(model, cache_dir, precision, notes if notes is not None else [])


def choice_for(embedder: Embedder, model: ModelInfo, cache_dir: Path) -> EmbedderChoice:
    """What an index built by ``embedder`` records, so its questions are embedded the same way."""
    if embedder.backend == "onnx":
        record = cached_onnx(model, cache_dir, check_hash=False, precision=embedder.precision)
        if record is not None:
            return EmbedderChoice("onnx", embedder.precision, "onnx", str(record.path), record.sha256)
    return EmbedderChoice(embedder.backend, embedder.precision, embedder.backend)


def embedder_for_index(
    choice: EmbedderChoice, model: ModelInfo, cache_dir: Path, *, spin: bool = True
) -> tuple[Embedder, tuple[str, ...]]:
    """The embedder for questions to an index that recorded ``choice`` (``spin``: see ``OnnxEncoder``)."""
    backend = _REGISTRY.backends.get(choice.backend) or _REGISTRY.backends[_FALLBACK]
    return backend.for_index(choice, model, cache_dir, spin=spin)


def model_for_index(recorded: RecordedModel, model_dir: Path | None) -> ModelInfo:
    """The model folder to embed questions with: ``model_dir`` if given, else the recorded one, else the bundled."""
    if model_dir is not None:
        return resolve_model(model_dir)
    path = Path(recorded.path)
    if recorded.path and path.is_dir():
        try:
            model = resolve_model(path)
            if model.fingerprint == recorded.fingerprint:
                return model
        except ModelError:
            pass
    return resolve_model(None)


def query_embedder(
    recorded: RecordedModel, choice: EmbedderChoice, model_dir: Path | None, cache_dir: Path, *, spin: bool = True
) -> tuple[Embedder, tuple[str, ...]]:
    """The embedder the index says to use for questions, on the model it was built with."""
    model = model_for_index(recorded, model_dir)
    if model.fingerprint != recorded.fingerprint:
        raise ModelError(f"the index was built with model {recorded.id} but {model.model_id} is at hand",
                         fix=REBUILD)
    return embedder_for_index(choice, model, cache_dir, spin=spin)
