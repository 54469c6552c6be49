"""Work started now in a thread of its own, its result taken later: :class:`Background`.

For slow set-up that releases the GIL (reading and hashing a 90 MB encoder file,
onnxruntime building its session) while the caller does its own work meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar, cast

T = TypeVar("T")


class Background(Generic[T]):
    """Runs ``fn`` in a daemon thread from construction on; :meth:`result` waits for it.

    A daemon thread, so a caller that fails (or is interrupted) before asking for the result
    does not wait for it at exit.
    """

    def __init__(self, fn: Callable[[], T], name: str) -> None:
        self._fn = fn
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as exc:  # handed to the caller of result(), in its thread
            self._error = exc

    def result(self) -> T:
        """``fn``'s value, once it returned; what it raised is raised here."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return cast(T, self._value)

    def join(self) -> None:
        """Wait until ``fn`` has ended, whatever it gave."""
        self._thread.join()


class Aside:
    """Background work that ends before its block does, however the block is left.

    Leaving the block (an error, Ctrl+C) waits for what was started, so no thread is
    still inside a C library (onnxruntime building a session) while the process exits.
    """

    def __init__(self) -> None:
        self._started: list[Background[object]] = []

    def start(self, fn: Callable[[], T], name: str) -> Background[T]:
        work = Background(fn, name)
        self._started.append(work)  # type: ignore[arg-type]
        return work

    def __enter__(self) -> Aside:
        return self

    def __exit__(self, *exc: object) -> None:
        for work in self._started:
            work.join()
