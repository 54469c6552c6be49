"""Open the selected hit in the editor only at a line that is right for the note as it is now."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from indexer.locate import CHANGED, GONE, MOVED, locate_line
from indexer.snippets import answer_location

from .editor import EditorHost, open_in_editor

if TYPE_CHECKING:
    from indexer.models import Hit

    from .engine import Engine


class OpeningHost(EditorHost, Protocol):
    """What opening a hit needs of the app, beyond the editor's needs (``NotesQAApp`` is one)."""

    @property
    def engine(self) -> Engine:
        ...

    @property
    def building(self) -> bool:
        """Is a build under way?"""
        ...

    def action_rebuild(self) -> None:
        ...


def open_hit(app: OpeningHost, hit: Hit) -> None:
    """Check the hit's line against the note first: never open a deleted note or a line that now holds other text."""
    corpus = Path(app.engine.settings.corpus_dir)
    line = answer_location(hit)
    where = locate_line(corpus, hit.chunk, line, max_bytes=app.engine.settings.chunker.max_file_bytes)
    name = hit.chunk.path
    if where.state == GONE:
        app.tell(f"{name} is gone ({where.reason}); its results go when the index is refreshed",
                 title="Not opened", severity="warning", timeout=8)
        return
    if where.state == CHANGED or where.line is None:
        app.tell(f"{name} changed since the index was built: line {line} no longer holds this answer; "
                 "refreshing the index, then ask again", title="Not opened", severity="warning", timeout=8)
        if not app.building:
            app.action_rebuild()
        return
    if where.state == MOVED:
        app.tell(f"{name} changed since the index was built: the answer moved from line {line} to {where.line}",
                 title="Opened at the new line", timeout=6)
    open_in_editor(app, (corpus / name).resolve(), where.line)
