"""The app's worker jobs turn every outcome into a message (the app must not die in a worker)."""

from __future__ import annotations

from typing import Any

from indexer.errors import REBUILD, IndexFileError
from indexer.models import SearchFilter
from tui import jobs
from tui.messages import EngineFailed, SearchDone, SearchFailed


class Failing:
    """A searcher and an engine whose every call raises ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def search(self, *args: Any, **kwargs: Any) -> Any:
        raise self.error

    def open(self, progress: Any) -> Any:
        raise self.error

    rebuild = open


class Answering:
    def search(self, question: str, *, k: int, mode: str, filters: SearchFilter) -> Any:
        return ("answer", question, k, mode)


def test_search_tags_the_answer_with_its_serial() -> None:
    message = jobs.search(Answering(), 7, "q", k=3, mode="dense", filters=SearchFilter(), log=print)  # type: ignore[arg-type]
    assert isinstance(message, SearchDone) and message.serial == 7 and message.result == ("answer", "q", 3, "dense")


def test_a_user_error_is_shown_with_its_fix_and_not_logged() -> None:
    logged: list[str] = []
    error = IndexFileError("the index is damaged", fix=REBUILD)
    message = jobs.search(Failing(error), 2, "q", k=3, mode="hybrid", filters=SearchFilter(),  # type: ignore[arg-type]
                          log=logged.append)
    assert isinstance(message, SearchFailed) and message.serial == 2
    assert message.error == f"the index is damaged; {REBUILD}" and logged == []


def test_an_unexpected_error_is_logged_and_reported() -> None:
    logged: list[str] = []
    message = jobs.load(Failing(RuntimeError("boom")), True, lambda *a: None, logged.append)  # type: ignore[arg-type]
    assert isinstance(message, EngineFailed) and message.rebuilding
    assert message.error.startswith("unexpected error: RuntimeError: boom") and logged == ["RuntimeError('boom')"]
