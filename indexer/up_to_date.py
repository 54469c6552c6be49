"""``notes-qa index`` when nothing changed: say so instead of writing the same index again.

A build over unchanged notes would re-read every note, re-score BM25 over every
chunk and write and hash a whole new build folder: seconds on 100,000 notes for an
identical result. The index is up to date when the notes are unchanged by stat (the
freshness check ``ask`` makes), the build's fingerprint (model, chunker, BM25 settings,
precision) is the one a build would write, the live build is a real build folder
behind the ``current`` link, and every index file has its recorded size. ``--full``
and ``notes-qa verify`` still read everything.
"""

from __future__ import annotations

import time
from dataclasses import replace

from .build import BuildReport, index_status
from .errors import NotesQAError
from .index_files import check_files, current_build
from .keyword import KeywordParams
from .manifest import read_manifest
from .model_files import ModelInfo, resolve_model
from .reuse import fingerprint
from .settings import Settings

#: ``BuildReport.reason`` when nothing was built.
UP_TO_DATE = "up to date"


def unchanged_index(
    settings: Settings, keyword: KeywordParams = KeywordParams(), *, model: ModelInfo | None = None
) -> BuildReport | None:
    """A report of the live build when a build now would change nothing, else None (build).

    ``model`` as for :func:`~indexer.build.build_index` (default: the settings' model).
    """
    started = time.perf_counter()
    link = settings.index_dir / "current"
    folder = current_build(settings.index_dir)
    if folder is None or not link.is_symlink():
        return None
    try:
        status = index_status(settings)
        if status.state != "fresh":
            return None
        manifest = read_manifest(folder)
        model = model or resolve_model(settings.model_dir)
        chunker = settings.chunker
        if model.max_tokens < chunker.max_tokens:  # as build_index fits the chunker to the model
            chunker = replace(chunker, max_tokens=model.max_tokens,
                              target_tokens=min(chunker.target_tokens, model.max_tokens))
        precision = settings.precision or manifest.encoder.precision
        if manifest.fingerprint != fingerprint(model.fingerprint, chunker, keyword, precision):
            return None
        check_files(folder, manifest)
    except NotesQAError:
        return None  # whatever is wrong, a build finds it and says so
    except OSError:
        return None
    return BuildReport(
        index_dir=folder,
        files=manifest.counts.files,
        chunks=manifest.counts.chunks,
        lines=manifest.counts.lines,
        embedded=0,
        reused=0,
        seconds=time.perf_counter() - started,
        full=False,
        reason=UP_TO_DATE,
        backend=manifest.encoder.backend,
        warnings=status.warnings,  # files skipped now, as a build would say
        precision=manifest.encoder.precision,
    )
