"""Build the index: chunk, embed (reusing unchanged vectors), write, swap in."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .chunker import MAX_LINE_CHARS, cap_lines, chunk_document
from .corpus import Corpus, read_corpus
from .disk import Disk
from .embedder_factory import choice_for, embedder_for_build
from .errors import IndexFileError, IndexWriteError, ModelError, NotesQAError, os_reason
from .index_files import (
    CURRENT,
    FORMAT,
    FORMAT_VERSION,
    chunk_to_json,
    current_build,
    problem,
    read_chunks,
    read_line_rows,
    read_manifest,
    sha256_file,
    verify_files,
)
from .keyword import KeywordParams, build_keyword_index
from .lock import build_lock
from .model_files import ModelInfo, resolve_model
from .models import Chunk
from .settings import ChunkerSettings, Settings
from .snippets import is_content_line, table_headers
from .tokens import HFTokenCounter, TokenCounter

if TYPE_CHECKING:
    import numpy as np

    from .embedder import Embedder

#: progress(stage, done, total)
ProgressFn = Callable[[str, int, int], None]


@dataclass(frozen=True)
class BuildReport:
    index_dir: Path
    files: int
    chunks: int
    lines: int
    embedded: int
    reused: int
    seconds: float
    full: bool
    reason: str
    encoder: str
    warnings: tuple[str, ...] = ()
    variant: str = "fp32"


@dataclass(frozen=True)
class IndexStatus:
    state: str  # "missing", "fresh", "stale" or "broken"
    reason: str


def fingerprint(
    model_fingerprint: str, chunker: ChunkerSettings, keyword: KeywordParams, encoder: str = "fp32"
) -> str:
    fields: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "model": model_fingerprint,
        "chunker": chunker.to_json(),
        "keyword": keyword.to_json(),
    }
    if encoder != "fp32":  # fp32 indexes keep the fingerprint they had before encoders were a setting
        fields["encoder"] = encoder
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def index_encoder(manifest: dict[str, Any]) -> str:
    """The encoder variant an index was built with (``fp32`` for indexes that predate the setting)."""
    encoder = manifest.get("encoder")
    variant = encoder.get("variant", "fp32") if isinstance(encoder, dict) else "fp32"
    return str(variant)


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def snippet_lines(chunks: list[Chunk], texts: dict[str, list[str]]) -> list[tuple[str, int, str]]:
    """(path, 1-based line, text to embed) for every content line, once each.

    A line is embedded with its heading path, and a table row with its header row.
    """
    seen: set[tuple[str, int]] = set()
    rows: list[tuple[str, int, str]] = []
    headers = {path: table_headers(lines) for path, lines in texts.items()}
    for chunk in chunks:
        lines = texts[chunk.path]
        for number, _ in chunk.numbered_lines():
            if (chunk.path, number) in seen or number > len(lines) or not is_content_line(lines[number - 1]):
                continue
            seen.add((chunk.path, number))
            parts = [chunk.heading_path] if chunk.heading else []
            if number in headers[chunk.path]:
                parts.append(headers[chunk.path][number])
            parts.append(lines[number - 1].strip())
            rows.append((chunk.path, number, "\n".join(parts)))
    return rows


def notes_diff(manifest: dict[str, Any], hashes: dict[str, str]) -> tuple[list[str], list[str], list[str]]:
    """Notes changed, added and removed since the build of ``manifest`` (``hashes``: path -> sha256 now)."""
    old = {k: v.get("sha256") for k, v in manifest["corpus"]["files"].items() if isinstance(v, dict)}
    changed = sorted(k for k in hashes.keys() & old.keys() if hashes[k] != old[k])
    return changed, sorted(hashes.keys() - old.keys()), sorted(old.keys() - hashes.keys())


def index_status(settings: Settings, corpus: Corpus | None = None) -> IndexStatus:
    """Is there an index, and does it still match the corpus and settings?"""
    folder = current_build(settings.index_dir)
    if folder is None:
        return IndexStatus("missing", f"no index at {settings.index_dir}")
    try:
        manifest = read_manifest(folder)
    except IndexFileError as exc:
        return IndexStatus("broken", str(exc))
    if corpus is None:
        corpus = read_corpus(
            settings.corpus_dir,
            max_file_bytes=settings.chunker.max_file_bytes,
            skip=(settings.index_dir,),
            follow_links=settings.follow_links,
        )
    changed, added, removed = notes_diff(manifest, corpus.hashes())
    if changed or added or removed:
        parts = [f"{len(x)} {what}" for x, what in ((changed, "changed"), (added, "new"), (removed, "removed")) if x]
        return IndexStatus("stale", "notes " + ", ".join(parts))
    if settings.model_dir is not None:
        model = resolve_model(settings.model_dir)
        if model.fingerprint != manifest["model"].get("fingerprint"):
            return IndexStatus("stale", "the index was built with another model")
    built_with = index_encoder(manifest)
    if settings.encoder is not None and settings.encoder != built_with:
        return IndexStatus("stale", f"the index was built with the {built_with} encoder")
    return IndexStatus("fresh", "up to date")


def _reusable(folder: Path | None, fp: str, encoder: str) -> tuple[dict[str, np.ndarray], str]:
    """Vectors of the current build keyed by the text they embed, if compatible."""
    if folder is None:
        return {}, "no previous index"
    try:
        manifest = read_manifest(folder)
        if manifest.get("fingerprint") != fp:
            built_with = index_encoder(manifest)
            if built_with != encoder:
                return {}, f"the encoder changed ({built_with} -> {encoder}): full rebuild"
            return {}, "the model or chunker settings changed: full rebuild"
        verify_files(folder, manifest)
        import numpy as np

        from .store import VectorStore

        chunks = read_chunks(folder)
        vectors = VectorStore.load(folder / "vectors.faiss", mmap=False).vectors()
        rows = read_line_rows(folder)
        line_vectors = np.load(folder / "lines.npy", allow_pickle=False)
        if len(vectors) != len(chunks) or len(line_vectors) != len(rows):
            return {}, "the previous index is inconsistent: full rebuild"
    except NotesQAError as exc:
        return {}, f"the previous index is unusable ({problem(exc)}): full rebuild"
    except (OSError, ValueError, RuntimeError) as exc:
        return {}, f"the previous index is unreadable ({exc.__class__.__name__}): full rebuild"
    cache = {text_key(c.embed_text()): vectors[i] for i, c in enumerate(chunks)}
    cache.update({row.key: line_vectors[i] for i, row in enumerate(rows)})
    return cache, "incremental"


def _previous_encoder(folder: Path | None) -> str | None:
    if folder is None:
        return None
    try:
        return index_encoder(read_manifest(folder))
    except NotesQAError:
        return None


def _full_reason(folder: Path | None) -> str:
    """Why everything is embedded again when ``full`` was asked for."""
    if folder is None:
        return "no previous index"
    try:
        verify_files(folder, read_manifest(folder))
    except IndexFileError as exc:
        return f"the previous index is unusable ({problem(exc)}): full rebuild"
    return "full rebuild (--full)"


def _embed(
    embedder: Embedder, texts: list[str], cache: dict[str, np.ndarray], progress: ProgressFn | None, model: ModelInfo
) -> tuple[np.ndarray, int, int]:
    import numpy as np

    keys = [text_key(t) for t in texts]
    reused = sum(k in cache for k in keys)  # texts whose vector comes from the previous build
    todo = sorted({k: t for k, t in zip(keys, texts) if k not in cache}.items())
    batch = 256
    for start in range(0, len(todo), batch):
        part = todo[start : start + batch]
        vectors = embedder.embed_documents([t for _, t in part])
        if vectors.shape != (len(part), model.dim):  # before anything is written: an index ask could not read
            raise ModelError(
                f"the model at {model.path} gives vectors of shape {tuple(vectors.shape[1:])} but its configuration "
                f"says {model.dim} dimensions (check 1_Pooling/config.json)",
                fix="fix the model folder or pass --model another",
            )
        for (key, _), vector in zip(part, vectors):
            cache[key] = vector
        if progress:
            progress("embedding", min(start + batch, len(todo)), len(todo))
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32), 0, 0
    return np.ascontiguousarray(np.stack([cache[k] for k in keys]), dtype=np.float32), len(todo), reused


def _write_build(
    tmp: Path,
    chunks: list[Chunk],
    chunk_vectors: np.ndarray,
    line_rows: list[tuple[str, int, str]],
    line_vectors: np.ndarray,
    manifest: dict[str, Any],
    keyword: KeywordParams,
    disk: Disk,
) -> None:
    """Write every file of a build into ``tmp``, each flushed to disk (``disk.create``) before it is hashed."""
    import numpy as np

    from .store import VectorStore

    with disk.create(tmp / "chunks.jsonl") as sink:
        for chunk in chunks:
            sink.write((json.dumps(chunk_to_json(chunk), ensure_ascii=False) + "\n").encode("utf-8"))
    store = VectorStore.build(chunk_vectors)
    with disk.create(tmp / "vectors.faiss") as sink:
        store.write(sink.write)
    disk.save_npy(tmp / "lines.npy", line_vectors.astype(np.float32))
    paths = sorted({p for p, _, _ in line_rows})
    position = {p: i for i, p in enumerate(paths)}
    rows = [[position[p], n, text_key(t)] for p, n, t in line_rows]
    disk.write_json(tmp / "lines.json", {"paths": paths, "rows": rows})
    build_keyword_index([c.embed_text() for c in chunks], tmp, keyword, disk=disk)
    manifest["store"] = store.spec.to_json()
    manifest["files"] = {p.name: sha256_file(p) for p in sorted(tmp.iterdir()) if p.is_file()}
    disk.write_json(tmp / "manifest.json", manifest)
    disk.fsync(tmp)


def _swap_in(index_root: Path, tmp: Path, stamp: str, disk: Disk) -> Path:
    final = index_root / f"build-{stamp}"
    disk.rename(tmp, final)
    current = index_root / CURRENT
    if current.is_dir() and not current.is_symlink():
        # A copy made with ``cp -rL`` turned the link into a folder, which no link can
        # replace: it becomes an ordinary build folder (cleaned like the others).
        disk.rename(current, index_root / f"build-{stamp}-copied")
    link_tmp = index_root / f".current-{os.getpid()}"
    if link_tmp.is_symlink() or link_tmp.exists():
        link_tmp.unlink()
    disk.symlink(final.name, link_tmp)
    disk.replace(link_tmp, current)  # atomic: readers see old or new
    # The new build is live already: should the swap not reach the disk before a crash,
    # the old link comes back, and its build is kept (the newest two are).
    with suppress(OSError):
        disk.fsync(index_root)
    return final


def _clean(index_root: Path, keep: set[Path]) -> None:
    """Remove unfinished builds and all but the newest two finished ones.

    Runs under the build lock, so every ``tmp-*`` folder and ``.current-*``
    link is a leftover of an interrupted build. The live build is always kept,
    even when interrupted builds left newer ``build-*`` folders.
    """
    live = current_build(index_root)
    protected = {p.resolve() for p in keep} | ({live} if live is not None else set())
    builds = sorted((p for p in index_root.glob("build-*") if p.is_dir() and not p.is_symlink()), key=lambda p: p.name)
    for path in index_root.glob("tmp-*"):
        shutil.rmtree(path, ignore_errors=True)
    for path in index_root.glob(".current-*"):
        if path.is_symlink():
            path.unlink(missing_ok=True)
    for path in builds[:-2]:
        if path.resolve() not in protected:
            shutil.rmtree(path, ignore_errors=True)


def build_index(
    settings: Settings,
    *,
    full: bool = False,
    embedder: Embedder | None = None,
    token_counter: TokenCounter | None = None,
    model: ModelInfo | None = None,
    progress: ProgressFn | None = None,
    wait_seconds: float = 0.0,
    keyword: KeywordParams = KeywordParams(),
    disk: Disk | None = None,
) -> BuildReport:
    """Build or refresh the index under ``settings.index_dir``.

    Vectors of chunks (and lines) whose text did not change are reused unless
    ``full``; a changed model or chunker setting always rebuilds everything.
    The previous index keeps answering until the new one is complete.
    Every file operation goes through ``disk`` (see :mod:`indexer.disk`).
    """
    started = time.perf_counter()
    disk = disk or Disk()
    index_root = settings.index_dir
    corpus = read_corpus(
        settings.corpus_dir,
        max_file_bytes=settings.chunker.max_file_bytes,
        skip=(index_root,),
        follow_links=settings.follow_links,
    )
    if model is None:
        model = resolve_model(settings.model_dir)
    if model.max_tokens < settings.chunker.max_tokens:
        from dataclasses import replace

        settings = replace(settings, chunker=replace(settings.chunker, max_tokens=model.max_tokens,
                                                     target_tokens=min(settings.chunker.target_tokens, model.max_tokens)))
    counter = token_counter or HFTokenCounter(model.tokenizer_json)
    with build_lock(index_root, wait_seconds=wait_seconds):
        _clean(index_root, keep=set())
        previous = current_build(index_root)
        if embedder is not None:
            encoder = embedder.precision
        else:
            encoder = settings.encoder or _previous_encoder(previous) or "fp32"
        fp = fingerprint(model.fingerprint, settings.chunker, keyword, encoder)
        cache: dict[str, np.ndarray]
        if full:
            cache, reason = {}, _full_reason(previous)
        else:
            cache, reason = _reusable(previous, fp, encoder)
        if progress:
            progress("chunking", 0, len(corpus.notes))
        chunks: list[Chunk] = []
        texts: dict[str, list[str]] = {}
        warnings = list(corpus.warnings)
        for done, note in enumerate(corpus.notes, start=1):
            text, cut = cap_lines(note.text.replace("\r\n", "\n").replace("\r", "\n"))
            if cut:
                many = f"{cut} lines are" if cut > 1 else "a line is"
                warnings.append(f"{note.rel}: {many} over {MAX_LINE_CHARS:,} characters; only the first "
                                f"{MAX_LINE_CHARS:,} of each are indexed")
            texts[note.rel] = text.split("\n")
            chunks.extend(chunk_document(note.rel, text, counter, settings.chunker))
            if progress:
                progress("chunking", done, len(corpus.notes))
        lines = snippet_lines(chunks, texts)
        if embedder is None:
            embedder = embedder_for_build(model, settings.cache_dir, encoder, notes=warnings)
        if embedder.dim != model.dim:
            raise IndexFileError(f"the encoder gives {embedder.dim}-d vectors but the model says {model.dim}")
        all_texts = [c.embed_text() for c in chunks] + [t for _, _, t in lines]
        vectors, embedded, reused = _embed(embedder, all_texts, cache, progress, model)
        chunk_vectors, line_vectors = vectors[: len(chunks)], vectors[len(chunks) :]
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f") + f"-{os.getpid()}"
        tmp = index_root / f"tmp-{stamp}"
        try:
            disk.mkdir(tmp)
            if progress:
                progress("writing", 0, 1)
            manifest: dict[str, Any] = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "created_by": f"notes-qa {__version__}",
                "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "model": {
                    "id": model.model_id,
                    "name": model.name,
                    "path": str(model.path),
                    "fingerprint": model.fingerprint,
                    "dim": model.dim,
                    "max_tokens": model.max_tokens,
                },
                "encoder": choice_for(embedder, model, settings.cache_dir).to_json(),
                "chunker": settings.chunker.to_json(),
                "keyword": keyword.to_json(),
                "fingerprint": fp,
                "corpus": {
                    "path": str(Path(settings.corpus_dir).resolve()),
                    "files": {n.rel: {"sha256": n.sha256, "size": n.size} for n in corpus.notes},
                },
                "counts": {"files": len(corpus.notes), "chunks": len(chunks), "lines": len(lines)},
                "build": {"embedded": embedded, "reused": reused, "mode": reason},
            }
            _write_build(tmp, chunks, chunk_vectors, lines, line_vectors, manifest, keyword, disk)
            final = _swap_in(index_root, tmp, stamp, disk)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise IndexWriteError(
                f"cannot write the index in {index_root} ({os_reason(exc)}); "
                "check its free space and permissions, the previous index is kept",
                reason=os_reason(exc),
            ) from exc
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _clean(index_root, keep={final})
        if progress:
            progress("writing", 1, 1)
    return BuildReport(
        index_dir=final,
        files=len(corpus.notes),
        chunks=len(chunks),
        lines=len(lines),
        embedded=embedded,
        reused=reused,
        seconds=time.perf_counter() - started,
        full=full or not cache,
        reason=reason,
        encoder=embedder.backend,
        warnings=tuple(warnings),
        variant=embedder.precision,
    )
