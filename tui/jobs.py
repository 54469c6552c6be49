"""What the app's thread workers do: open or rebuild the index, answer a question.

Each returns the message to post, so that the app's worker methods stay one line
and every failure becomes a message (the app must not die in a worker).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.message import Message

from indexer.errors import NotesQAError

from .messages import EngineFailed, EngineReady, SearchDone, SearchFailed

if TYPE_CHECKING:
    from indexer.models import SearchFilter
    from indexer.search import Searcher

    from .engine import Engine, Progress

#: Where an unexpected exception is logged (the app's ``log.error``).
LogFn = Callable[[str], object]


def unexpected(exc: BaseException) -> str:
    return f"unexpected error: {type(exc).__name__}: {exc}; please report it (the app keeps running)"


def load(engine: Engine, rebuild: bool, progress: Progress, log: LogFn) -> Message:
    """Open the index (building it if needed), or rebuild it: ``EngineReady`` or ``EngineFailed``."""
    try:
        opened = engine.rebuild(progress) if rebuild else engine.open(progress)
    except NotesQAError as exc:
        return EngineFailed(exc.with_fix(), rebuild)
    except Exception as exc:
        log(repr(exc))
        return EngineFailed(unexpected(exc), rebuild)
    return EngineReady(opened, rebuild)


def search(searcher: Searcher, serial: int, question: str, *, k: int, mode: str, filters: SearchFilter,
           log: LogFn) -> Message:
    """Answer ``question``: ``SearchDone`` or ``SearchFailed``, tagged with the asking ``serial``."""
    try:
        result = searcher.search(question, k=k, mode=mode, filters=filters)
    except NotesQAError as exc:
        return SearchFailed(serial, exc.with_fix())
    except Exception as exc:
        log(repr(exc))
        return SearchFailed(serial, unexpected(exc))
    return SearchDone(serial, result)
