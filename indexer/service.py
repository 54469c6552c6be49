"""Open a ready-to-use searcher: build or refresh the index if needed, then load it.

:func:`open_or_repair` is the one place that decides what a damaged index gets:
the CLI (``ask``, ``eval``), the TUI and the MCP server's live index all open
through it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .build import BuildReport, ProgressFn, build_index, index_status
from .embedder import Embedder
from .errors import REBUILD, IndexFileError, IndexLockedError, IndexWriteError, ModelError, first_line
from .index_files import load_index
from .lock import wait_for_build
from .model_files import ModelInfo, resolve_model
from .search import Searcher
from .settings import ENCODERS, Settings

#: Index errors a rebuild cannot cure: another run holds the lock, or the folder cannot be written.
NOT_REPAIRED: tuple[type[IndexFileError], ...] = (IndexLockedError, IndexWriteError)


@dataclass(frozen=True)
class OpenedSearcher:
    """A loaded searcher and what the caller should tell the user about opening it."""

    searcher: Searcher
    built: BuildReport | None  # the build made while opening, if any
    notes: tuple[str, ...] = ()  # warnings to show (a stale index answering, a slower encoder)
    #: why the index could not be used, when it was rebuilt from the notes for that (``built`` is that build)
    repaired: str | None = None


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


def query_embedder(manifest: dict[str, Any], settings: Settings, *, spin: bool = True) -> tuple[Embedder, tuple[str, ...]]:
    """The encoder the index says to use for questions, checked before use (``spin``: see ``OnnxEncoder``)."""
    from .embedder import OnnxEmbedder, SentenceTransformerEmbedder
    from .encoder_cache import cached_onnx

    model = _model_for_index(manifest, settings)
    if model.fingerprint != manifest["model"].get("fingerprint"):
        raise ModelError(
            f"the index was built with model {manifest['model'].get('id')} but {model.model_id} is at hand; "
            "rebuild with: notes-qa index --full"
        )
    query = manifest.get("encoder", {}).get("query", {})
    if not isinstance(query, dict) or query.get("kind") != "onnx":
        return SentenceTransformerEmbedder(model), ()
    variant = str(query.get("variant", "fp32"))
    if variant not in ENCODERS:
        raise ModelError(f"the index names an unknown encoder {variant!r}; rebuild with: notes-qa index --full")
    record = cached_onnx(model, settings.cache_dir, variant=variant)
    if record is not None and record.sha256 == query.get("sha256"):
        return OnnxEmbedder(model, record.path, variant=variant, spin=spin), ()
    if variant == "fp32":
        note = "the fast query encoder is missing or altered; using sentence-transformers (slower); restore it with: notes-qa index"
        return SentenceTransformerEmbedder(model), (note,)
    # Quantizing is deterministic: make the file again and use it if it is the same one.
    from .encoder_cache import ensure_onnx

    try:
        record = ensure_onnx(model, settings.cache_dir, variant)
    except Exception as exc:
        raise ModelError(
            f"the {variant} encoder this index was built with is missing and cannot be made again "
            f"({first_line(exc)}); "
            f"rebuild with: notes-qa index --full --encoder fp32"
        ) from exc
    if record.sha256 != query.get("sha256"):
        raise ModelError(
            f"the {variant} encoder this index was built with is missing or altered, and a new one differs; "
            f"rebuild with: notes-qa index --full --encoder {variant}"
        )
    return OnnxEmbedder(model, record.path, variant=variant, spin=spin), (f"made the {variant} query encoder again (it was missing)",)


def _refresh(
    settings: Settings, state: str, reason: str, **build: Any
) -> tuple[BuildReport | None, tuple[str, ...]]:
    """Build or refresh a non-fresh index; returns the report (None if nothing was built) and warnings.

    A stale index (the notes changed) still answers: if another run is building
    or the index cannot be written (full disk, read-only folder), the old one is
    used with a warning instead of waiting or failing. A missing or damaged
    index has nothing to answer from: a running build is waited for, and only
    if the index is still not fresh afterwards is it built here.
    """
    if state == "stale":
        try:
            return build_index(settings, wait_seconds=0, **build), ()
        except IndexLockedError:
            return None, (f"another notes-qa run is rebuilding the index ({reason} since it was built); "
                          "answering from the current index",)
        except IndexWriteError as exc:
            return None, (f"the index could not be refreshed ({exc.reason}); answering from the previous index, "
                          f"built before the notes changed ({reason})",)
    progress = build.get("progress")
    if progress is not None:
        progress("waiting", 0, 1)  # for another run's build, if one holds the lock
    wait_for_build(settings.index_dir, wait_seconds=600)
    if index_status(settings).state == "fresh":
        return None, ()
    return build_index(settings, wait_seconds=600, **build), ()


def open_searcher(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    auto_build: bool = True,
    progress: ProgressFn | None = None,
    token_counter: Any = None,
    model: ModelInfo | None = None,
    spin: bool = True,
) -> OpenedSearcher:
    """Load the index under ``settings.index_dir``, building it first if it is
    missing, or refreshing it if the notes changed since it was built (see
    :func:`_refresh` for when the current index answers instead)."""
    built = None
    warnings: tuple[str, ...] = ()
    if auto_build:
        status = index_status(settings)
        if status.state != "fresh":
            built, warnings = _refresh(
                settings, status.state, status.reason,
                embedder=embedder, progress=progress, token_counter=token_counter, model=model,
            )
    index = load_index(settings.index_dir)
    notes: tuple[str, ...] = ()
    if embedder is None:
        # query_embedder still reads the manifest's JSON; it moves to the embedder registry.
        embedder, notes = query_embedder(index.manifest.to_json(), settings, spin=spin)
    elif embedder.dim != index.manifest.model.dim:
        raise ModelError("the encoder's dimension does not match the index", fix=REBUILD)
    return OpenedSearcher(Searcher(index, embedder, warnings=warnings), built, warnings + notes)


def open_or_repair(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    auto_build: bool = True,
    repair: bool = True,
    progress: ProgressFn | None = None,
    token_counter: Any = None,
    model: ModelInfo | None = None,
    spin: bool = True,
    wait_seconds: float = 600,
    on_repair: Callable[[str], None] | None = None,
) -> OpenedSearcher:
    """:func:`open_searcher`, and if the index turns out damaged or foreign, rebuild it from the notes.

    A damaged build is only found when its files are checked on loading, so it is
    rebuilt (in full) after the first attempt to load it fails; ``on_repair`` hears
    why before the rebuild starts, and ``OpenedSearcher.repaired`` says it after.
    What a rebuild cannot cure (``NOT_REPAIRED``: a lock held by another run, a
    folder that cannot be written) and model errors are raised, as is everything
    without ``repair``. ``wait_seconds``: how long the rebuild waits for another
    run's build.
    """
    try:
        return open_searcher(settings, embedder=embedder, auto_build=auto_build, progress=progress,
                             token_counter=token_counter, model=model, spin=spin)
    except NOT_REPAIRED:
        raise
    except IndexFileError as exc:
        if not repair:
            raise
        why = exc.message
    if on_repair is not None:
        on_repair(why)
    report = build_index(settings, full=True, embedder=embedder, token_counter=token_counter, model=model,
                         progress=progress, wait_seconds=wait_seconds)
    opened = open_searcher(settings, embedder=embedder, auto_build=False, spin=spin)
    return OpenedSearcher(opened.searcher, report, opened.notes, repaired=why)
