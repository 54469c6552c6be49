"""Build the index: chunk, embed (reusing unchanged vectors), write, swap in."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .build_folders import clean_builds, swap_in
from .chunk_lines import chunk_lines_of
from .chunker import MAX_LINE_CHARS, cap_lines, chunk_document
from .corpus import (
    Corpus,
    NoteFile,
    corpus_hashes,
    no_readable_notes,
    read_changed_notes,
    read_corpus,
    read_note_file,
    settle_racy,
)
from .disk import Disk
from .embedder_factory import choice_for, embedder_for_build
from .errors import IndexFileError, IndexWriteError, ModelError, NotesQAError, os_reason
from .fileio import sha256_file
from .index_files import LINE_INDEX, LINE_RULES, KeptLine, chunk_to_json, current_build
from .keyword import KeywordParams, PreviousTerms, build_keyword_index
from .line_plan import LinePlan
from .lock import build_lock
from .manifest import BuildRecord, Counts, Manifest, ModelRecord, NoteRecord, read_manifest, write_manifest
from .model_files import ModelInfo, resolve_model
from .models import Chunk, LineText
from .note_changes import NoteChanges
from .note_table import NoteArrays, RecordedNotes, write_note_files
from .reuse import fingerprint, reusable_vectors
from .settings import Settings
from .store_choice import store_record
from .tokens import HFTokenCounter, TokenCounter

if TYPE_CHECKING:
    import numpy as np

    from .embedder import Embedder
    from .walk_aside import WalkAside

__all__ = ["BuildReport", "IndexStatus", "LineText", "build_index", "index_status"]

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
    #: how the texts became vectors: the backend ("onnx", "sentence-transformers") and the precision
    backend: str
    warnings: tuple[str, ...] = ()
    precision: str = "fp32"


@dataclass(frozen=True)
class IndexStatus:
    state: str  # "missing", "fresh", "stale" or "broken"
    reason: str
    hashed: int = 0  # notes read and hashed to know (those whose stat differs from the manifest's)
    warnings: tuple[str, ...] = ()  # files of the corpus not read as notes, and why (as a build warns)


def index_status(settings: Settings, corpus: Corpus | None = None, *, walk: WalkAside | None = None) -> IndexStatus:
    """Is there an index, and does it still match the corpus and settings? ``walk``: the corpus folder's
    walk, running in a child process (``walk_aside``); it is ended here either way."""
    try:
        folder = current_build(settings.index_dir)
        if folder is None:
            return IndexStatus("missing", f"no index at {settings.index_dir}")
        try:
            manifest = read_manifest(folder)
        except IndexFileError as exc:
            return IndexStatus("broken", exc.message)
        if corpus is None:  # only notes whose stat differs from the manifest's are read
            now = corpus_hashes(
                settings.corpus_dir,
                manifest.notes,
                max_file_bytes=settings.chunker.max_file_bytes,
                skip=(settings.index_dir,),
                follow_links=settings.follow_links,
                walked=None if walk is None else walk.result(),  # None: the child failed, walk here
            )
            hashed, warnings = now.hashed, now.warnings
            if now.seen and isinstance(manifest.notes, NoteArrays):  # e.g. a checkout rewrote notes unchanged
                manifest.notes.record_seen(folder, now.seen)  # so the next check need not read them again
            # the same notes, each with its recorded hash: nothing changed (no per-note comparison)
            diff = NoteChanges() if now.unchanged else manifest.notes_diff(now.hashes)
        else:
            hashed, warnings = len(corpus.notes), corpus.warnings
            diff = manifest.notes_diff(corpus.hashes())
    finally:
        if walk is not None:
            walk.cancel()
    if diff:
        parts = [f"{len(x)} {what}" for x, what in ((diff.modified, "changed"), (diff.added, "new"),
                                                    (diff.deleted, "removed")) if x]
        return IndexStatus("stale", "notes " + ", ".join(parts), hashed)
    if settings.model_dir is not None:
        model = resolve_model(settings.model_dir)
        if model.fingerprint != manifest.model.fingerprint:
            return IndexStatus("stale", "the index was built with another model", hashed)
    built_with = manifest.encoder.precision
    if settings.precision is not None and settings.precision != built_with:
        return IndexStatus("stale", f"the index was built with the {built_with} encoder", hashed)
    return IndexStatus("fresh", "up to date", hashed, warnings)




def _manifest_or_none(folder: Path | None) -> Manifest | None:
    """The manifest of the build in ``folder``; None without one, or when it cannot be read."""
    if folder is None:
        return None
    try:
        return read_manifest(folder)
    except NotesQAError:
        return None


def _read_notes(settings: Settings, previous: Manifest | None) -> Corpus:
    """The notes of ``settings.corpus_dir``: when ``previous`` (the live build) recorded the same
    folder's notes and which of them warned, only the notes whose stat changed are read (as the
    freshness check does, and as git trusts its index); else every note. A note left unread whose
    chunks the build cannot take over (another chunker, a damaged previous build) is read then."""
    options: dict[str, Any] = {"max_file_bytes": settings.chunker.max_file_bytes, "skip": (settings.index_dir,),
                               "follow_links": settings.follow_links}
    if (previous is not None and isinstance(previous.notes, RecordedNotes) and previous.notes.reread is not None
            and previous.corpus_path == str(Path(settings.corpus_dir).resolve())):
        return read_changed_notes(settings.corpus_dir, previous.notes, **options)
    return read_corpus(settings.corpus_dir, **options)


def _note_records(corpus: Corpus, read_from_ns: int, max_file_bytes: int) -> dict[str, NoteRecord]:
    """Each note's record: its sha256, and its stat unless it was racily clean then and still is now."""
    records = {n.rel: _note_record(n, read_from_ns) for n in corpus.notes}
    settle_racy(records, corpus.notes, max_file_bytes)
    return records


def _note_record(note: NoteFile, read_from_ns: int) -> NoteRecord:
    if note.stat is None:
        return NoteRecord(note.sha256, note.size)
    return NoteRecord.indexed(note.sha256, note.stat, read_from_ns=read_from_ns)


def _embed(
    embedder: Embedder, texts: list[str], keys: list[str], cache: dict[str, np.ndarray], progress: ProgressFn | None,
    model: ModelInfo,
) -> tuple[np.ndarray, int, int]:
    """The vector of each text (``keys``: each one's ``text_key``): from ``cache`` or embedded now (and added to it)."""
    import numpy as np

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
    line_rows: Sequence[tuple[str, int]],
    line_keys: list[str],
    line_vectors: np.ndarray,
    manifest: Manifest,
    keyword: KeywordParams,
    disk: Disk,
    chunk_keys: list[str],
    known_terms: PreviousTerms | None = None,
    known_lines: Mapping[Chunk, str] | None = None,
    own_lines: Sequence[bool] = (),
    reread: Collection[str] = (),
) -> None:
    """Write every file of a build into ``tmp``, each flushed to disk (``disk.create``) before it is hashed.
    ``chunk_keys``: each chunk's ``text_key``; ``known_terms``: the previous build's BM25 terms of the chunks
    it had (see ``Reusable.terms``);
    ``known_lines``: its ``chunks.jsonl`` line of a chunk (see ``Reusable.lines``).

    With ``manifest.vector_db`` set the vectors go to its Milvus collections instead of ``vectors.faiss``
    (:func:`_write_milvus`).
    """
    import numpy as np

    from .store import FLAT_SPEC, VectorStore, choose_spec

    known_lines = known_lines or {}
    with disk.create(tmp / "chunks.jsonl") as sink:
        for chunk in chunks:
            line = known_lines.get(chunk)
            if line is None:
                line = json.dumps(chunk_to_json(chunk), ensure_ascii=False)
            sink.write((line + "\n").encode("utf-8"))
    spec = None
    if manifest.vector_db is None:
        store = VectorStore.build(chunk_vectors)
        spec = store.spec
        with disk.create(tmp / "vectors.faiss") as sink:
            store.write(sink.write)
    else:  # the Milvus collections get the keys they lack; nothing the live build reads changes
        from .milvus_index import write_collections

        write_collections(manifest.vector_db, manifest.model.dim, dict(zip(chunk_keys, chunk_vectors)),
                          dict(zip(line_keys, line_vectors)))
    disk.save_npy(tmp / "lines.npy", line_vectors.astype(np.float32))
    line_spec = choose_spec(*line_vectors.shape)
    if manifest.vector_db is None and len(line_vectors) and line_spec.kind != FLAT_SPEC.kind:
        # Many lines: their best ones are searched through an index of their own, not a scan of lines.npy.
        line_store = VectorStore.build(line_vectors.astype(np.float32), line_spec)
        with disk.create(tmp / LINE_INDEX) as sink:
            line_store.write(sink.write)
    paths = sorted({path for path, _ in line_rows})
    position = {p: i for i, p in enumerate(paths)}
    rows = [[position[path], line, key] for (path, line), key in zip(line_rows, line_keys)]
    # "rules" and "own": what the next build needs to take a note's rows as they are (``line_plan``)
    disk.write_json(tmp / "lines.json", {"paths": paths, "rows": rows, "rules": LINE_RULES,
                                         "own": [i for i, own in enumerate(own_lines) if own]})
    chunk_lines_of(chunks, line_rows).save(tmp, disk)
    build_keyword_index([c.embed_text() for c in chunks], tmp, keyword, disk=disk, known=known_terms, keep_terms=True)
    if manifest.notes_apart:
        write_note_files(tmp, manifest.notes, disk, reread)
    written = [p for p in sorted(tmp.iterdir()) if p.is_file()]
    files = {p.name: sha256_file(p) for p in written}
    sizes = {p.name: p.stat().st_size for p in written}
    write_manifest(tmp, replace(manifest, store=spec, files=files, file_sizes=sizes), disk)
    disk.fsync(tmp)


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
    store: str | None = None,
) -> BuildReport:
    """Build or refresh the index under ``settings.index_dir``.

    Vectors of chunks (and lines) whose text did not change are reused unless
    ``full``; a changed model or chunker setting always rebuilds everything.
    The previous index keeps answering until the new one is complete.
    Every file operation goes through ``disk`` (see :mod:`indexer.disk`).
    ``store``: where the vectors go (:mod:`indexer.store_choice`: ``faiss``, a Milvus
    ``.db`` file or server URL); None keeps what the previous build used (FAISS for a
    new index).
    """
    started = time.perf_counter()
    disk = disk or Disk()
    index_root = settings.index_dir
    # The notes are read before the lock, as always (a wrong corpus folder is reported before the index
    # folder is touched). Which notes need reading is decided by the live build's records: reading them
    # before the lock is safe, since a note is left unread only when its stat is the one recorded with its
    # hash, whichever build recorded it.
    live_before = None if full else current_build(index_root)
    old_before = _manifest_or_none(live_before)
    read_from_ns = time.time_ns()  # notes modified after this (or just before) get no stat in the manifest
    corpus = _read_notes(settings, old_before)
    if model is None:
        model = resolve_model(settings.model_dir)
    if model.max_tokens < settings.chunker.max_tokens:
        settings = replace(settings, chunker=replace(settings.chunker, max_tokens=model.max_tokens,
                                                     target_tokens=min(settings.chunker.target_tokens, model.max_tokens)))
    counter = token_counter or HFTokenCounter(model.tokenizer_json)
    from concurrent.futures import ThreadPoolExecutor

    # ``aside`` loads the encoder; leaving the block waits for it, so a failed or interrupted build never
    # exits with onnxruntime mid-load.
    with build_lock(index_root, wait_seconds=wait_seconds), ThreadPoolExecutor(1, "load-encoder") as aside:
        clean_builds(index_root, keep=set())
        previous = current_build(index_root)
        # The encoder: the one given, else the one asked for, else the previous build's.
        # (read once: its precision, its store, what can be reused)
        old = old_before if previous is not None and previous == live_before else _manifest_or_none(previous)
        old_precision = old.encoder.precision if old is not None else None
        encoder = embedder.precision if embedder is not None else settings.precision or old_precision or "fp32"
        fp = fingerprint(model.fingerprint, settings.chunker, keyword, encoder)
        old_vector_db = old.vector_db if old is not None else None
        vector_db = store_record(index_root, fp, store, old_vector_db)
        encoder_notes: list[str] = []  # a slower stand-in for the encoder, said after the chunker's warnings
        # The encoder loads (its file hashed, onnxruntime's session built: 0.3-0.4 s, outside the GIL) while
        # the previous build is read and the notes are cut.
        loading = None if embedder is not None else aside.submit(
            embedder_for_build, model, settings.cache_dir, encoder, notes=encoder_notes)
        reuse = reusable_vectors(previous, fp, encoder, full=full, manifest=old)
        cache, reason = reuse.vectors, reuse.reason
        if progress:
            progress("chunking", 0, len(corpus.notes))
        chunks: list[Chunk] = []
        plan = LinePlan()
        warnings = list(corpus.warnings)
        notes: list[NoteFile] = []
        reread: list[str] = []  # notes whose reading warns: the next build reads them again, to warn again
        def taken(note: NoteFile) -> tuple[tuple[Chunk, ...] | None, tuple[KeptLine, ...] | None]:
            """An unchanged note's chunks as before, and its line rows as before when the previous build
            derived them as this code does."""
            same = reuse.chunks.get((note.rel, note.sha256))
            return same, None if same is None else reuse.line_rows.get(note.rel)

        for done, listed in enumerate(corpus.notes, start=1):
            same, kept = taken(listed)
            if listed.text is None and same is not None and kept is not None:  # not read: its stat is as recorded
                notes.append(listed)
                plan.add_note(listed.rel, [], same, len(chunks), kept)
                chunks.extend(same)
                if progress:
                    progress("chunking", done, len(corpus.notes))
                continue
            note = listed
            if listed.text is None:  # left unread, but its chunks must be cut again: read it now
                read_now = read_note_file(listed, settings.chunker.max_file_bytes, warnings)
                if read_now is None:
                    continue
                note = read_now
                same, kept = taken(note)
            assert note.text is not None
            text, cut = cap_lines(note.text.replace("\r\n", "\n").replace("\r", "\n"))
            if cut:
                many = f"{cut} lines are" if cut > 1 else "a line is"
                warnings.append(f"{note.rel}: {many} over {MAX_LINE_CHARS:,} characters; only the first "
                                f"{MAX_LINE_CHARS:,} of each are indexed")
            if cut or note.lossy:
                reread.append(note.rel)
            cut_into = same if same is not None else chunk_document(note.rel, text, counter, settings.chunker)
            plan.add_note(note.rel, text.split("\n"), cut_into, len(chunks), kept)
            chunks.extend(cut_into)
            notes.append(note)
            if progress:
                progress("chunking", done, len(corpus.notes))
        if not notes:  # every note left unread vanished before it could be read again
            raise no_readable_notes(settings.corpus_dir, warnings)
        corpus = replace(corpus, notes=tuple(notes))
        all_texts = [c.embed_text() for c in chunks] + plan.own_texts  # the lines embedded on their own
        # once: the vector cache, BM25's kept terms, Milvus (a reused chunk made its key reading the previous build)
        all_keys = [c.text_key() for c in chunks] + [plan.keys[i] for i in plan.own]
        chunk_keys = all_keys[: len(chunks)]
        if embedder is None:
            assert loading is not None
            embedder = loading.result()
            warnings.extend(encoder_notes)
        if embedder.dim != model.dim:
            raise IndexFileError(f"the encoder gives {embedder.dim}-d vectors but the model says {model.dim}")
        vectors, embedded, reused = _embed(embedder, all_texts, all_keys, cache, progress, model)
        reused += plan.kept_own  # lines embedded on their own that the previous build had, taken as they were
        chunk_vectors = vectors[: len(chunks)]
        line_vectors = plan.vectors(chunk_vectors, vectors[len(chunks) :], cache)
        line_keys = plan.keys
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f") + f"-{os.getpid()}"
        tmp = index_root / f"tmp-{stamp}"
        try:
            disk.mkdir(tmp)
            if progress:
                progress("writing", 0, 1)
            manifest = Manifest(
                model=ModelRecord.of(model),
                fingerprint=fp,
                counts=Counts(files=len(corpus.notes), chunks=len(chunks), lines=len(plan.rows)),
                notes=_note_records(corpus, read_from_ns, settings.chunker.max_file_bytes),
                files={},  # with the store spec, once the files are written (_write_build)
                encoder=choice_for(embedder, model, settings.cache_dir),
                chunker=settings.chunker,
                keyword=keyword,
                corpus_path=str(Path(settings.corpus_dir).resolve()),
                build=BuildRecord(embedded=embedded, reused=reused, mode=reason),
                created_by=f"notes-qa {__version__}",
                built_at=datetime.now(UTC).isoformat(timespec="seconds"),
                vector_db=vector_db,
                notes_apart=True,
            )
            known_terms = reuse.terms.for_keys(chunk_keys) if reuse.terms is not None else None
            _write_build(tmp, chunks, chunk_vectors, plan.rows, line_keys, line_vectors, manifest, keyword, disk,
                         chunk_keys, known_terms, reuse.lines, plan.own_flags, reread)
            final = swap_in(index_root, tmp, stamp, disk)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise IndexWriteError(
                f"cannot write the index in {index_root} ({os_reason(exc)}); the previous index is kept",
                fix="check its free space and permissions",
                reason=os_reason(exc),
            ) from exc
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        clean_builds(index_root, keep={final})
        if vector_db is not None or old_vector_db is not None:  # after the swap: delete what no build uses
            from .milvus_index import clean_up

            problem = clean_up(vector_db, old_vector_db, set(chunk_keys),
                               set(line_keys))
            if problem:
                warnings.append(problem)
        if progress:
            progress("writing", 1, 1)
    return BuildReport(
        index_dir=final,
        files=len(corpus.notes),
        chunks=len(chunks),
        lines=len(plan.rows),
        embedded=embedded,
        reused=reused,
        seconds=time.perf_counter() - started,
        full=full or not cache,
        reason=reason,
        backend=embedder.backend,
        warnings=tuple(warnings),
        precision=embedder.precision,
    )
