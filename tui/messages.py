"""Messages the widgets and workers post upward (dataclasses, handled by the app)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from indexer.models import Hit, SearchResult
    from indexer.note_changes import NoteChanges
    from indexer.service import OpenedSearcher


@dataclass
class QuestionAsked(Message):
    """Enter was pressed in the question box."""

    question: str


@dataclass
class QuestionEdited(Message):
    """The question box changed (a search follows after a pause)."""

    question: str


@dataclass
class HitHighlighted(Message):
    """The selection in the results list moved (None: the list is empty)."""

    hit: Hit | None


@dataclass
class EngineReady(Message):
    """The index is loaded (and was built or rebuilt first, if ``opened.built``)."""

    opened: OpenedSearcher
    rebuilt: bool


@dataclass
class EngineFailed(Message):
    """Opening or rebuilding failed; ``error`` says what to do."""

    error: str
    rebuilding: bool


@dataclass
class BuildProgress(Message):
    """A step of an index build: ``stage`` is chunking, embedding or writing."""

    stage: str
    done: int
    total: int


@dataclass
class SearchDone(Message):
    serial: int
    result: SearchResult


@dataclass
class SearchFailed(Message):
    serial: int
    error: str


@dataclass
class NotesChanged(Message):
    """The watcher saw notes change; the index is being refreshed."""

    changes: NoteChanges


@dataclass
class IndexRefreshed(Message):
    """The index was refreshed after ``changes`` (``opened.built`` is the build)."""

    opened: OpenedSearcher
    changes: NoteChanges
