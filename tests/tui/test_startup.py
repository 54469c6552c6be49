"""Starting up: keys typed before the first frame or before the engine is ready are kept,
``notes-qa tui "QUESTION"`` asks at ready, and the first-ever run says it prepares the model."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

from textual import events
from textual.widgets import ProgressBar

from indexer.service import OpenedSearcher
from indexer.settings import Settings
from tui.app import create_app
from tui.engine import PREPARING_MODEL, IndexEngine, Progress
from tui.widgets.question import QuestionBox
from tui.widgets.results import ResultsList

from .conftest import DEBOUNCE, fake_engine, settle

SIZE = (100, 30)
WAIT = 60.0  # seconds: only ever reached if the test is broken


class GatedEngine(IndexEngine):
    """The fake engine, but opening waits until the test opens the gate.

    Before each wait it reports the steps of one phase of ``phases`` and sets
    ``waiting``; ``gate`` lets it go on to the next phase, then to the real opening.
    """

    def __init__(self, settings: Settings, *phases: tuple[tuple[str, int, int], ...]) -> None:
        inner = fake_engine(settings)
        super().__init__(settings, embedder=inner.embedder, token_counter=inner.token_counter, model=inner.model)
        self.gate = threading.Event()
        self.waiting = threading.Event()
        self.phases = phases or ((),)

    def open(self, progress: Progress) -> OpenedSearcher:
        for steps in self.phases:
            for stage, done, total in steps:
                progress(stage, done, total)
            self.waiting.set()
            if not self.gate.wait(WAIT):
                raise TimeoutError("the test never opened the gate")
            self.gate.clear()
            self.waiting.clear()
        return super().open(progress)

    def go_on(self) -> None:
        self.gate.set()


def box_of(app: object) -> QuestionBox:
    return app.screen_stack[0].query_one(QuestionBox)  # type: ignore[attr-defined, no-any-return]


def status_text(app: object) -> str:
    return str(app.screen_stack[0].query_one("#status-text").render())  # type: ignore[attr-defined]


async def test_keys_typed_before_the_first_frame_are_kept(settings: Settings) -> None:
    engine = GatedEngine(settings)
    app = create_app(engine, debounce=DEBOUNCE)
    # Queued before the app runs: they reach it before its screen exists, as keys typed
    # while Python and Textual start do. "q" would quit, and "m" change mode, outside the box.
    for ch in "qm redis":
        app.post_message(events.Key("space" if ch == " " else ch, ch))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.is_running and app.mode == "hybrid"
        assert box_of(app).value == "qm redis"
        await pilot.press("backspace", "t")  # later keys follow, in order
        engine.go_on()
        assert box_of(app).value == "qm redit"
        await settle(pilot)


async def test_a_question_asked_before_the_engine_is_ready_is_answered_when_it_is(settings: Settings) -> None:
    engine = GatedEngine(settings)
    app = create_app(engine, debounce=DEBOUNCE)
    async with app.run_test(size=SIZE) as pilot:
        assert engine.waiting.wait(WAIT)
        await pilot.press(*"memcached", "enter")
        await pilot.pause()
        assert app.searcher is None and "answered when the index is ready" in status_text(app)
        engine.go_on()
        await settle(pilot)
        results = app.screen.query_one(ResultsList)
        assert results.result is not None and results.result.query == "memcached"
        assert results.hits[0].chunk.heading == ("Cache", "ElastiCache")
        assert app.focused is results


async def test_typing_without_enter_before_ready_is_searched_at_ready(settings: Settings) -> None:
    engine = GatedEngine(settings)
    app = create_app(engine, debounce=DEBOUNCE)
    async with app.run_test(size=SIZE) as pilot:
        assert engine.waiting.wait(WAIT)
        await pilot.press(*"presigned url")
        engine.go_on()
        await settle(pilot)
        results = app.screen.query_one(ResultsList)
        assert results.result is not None and results.result.query == "presigned url"
        assert results.hits[0].chunk.heading == ("Storage", "S3")
        assert isinstance(app.focused, QuestionBox)  # still typing: the focus stays


async def test_a_question_on_the_command_line_is_asked_at_ready(settings: Settings) -> None:
    engine = GatedEngine(settings)
    app = create_app(engine, debounce=DEBOUNCE, question="object volumes replication", mode="keyword", k=2)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert box_of(app).value == "object volumes replication" and app.searcher is None
        engine.go_on()
        await settle(pilot)
        results = app.screen.query_one(ResultsList)
        assert results.result is not None and results.result.query == "object volumes replication"
        assert results.result.mode == "keyword" and len(results.hits) == 2  # -k 2 (three notes match)
        assert box_of(app).history.items == ["object volumes replication"]


async def test_the_first_run_says_it_prepares_the_model_then_shows_build_progress(settings: Settings) -> None:
    engine = GatedEngine(settings, ((PREPARING_MODEL, 0, 0), ("chunking", 0, 3), ("chunking", 3, 3)),
                         (("embedding", 1, 4),), (("embedding", 3, 4),))
    app = create_app(engine, debounce=DEBOUNCE)
    async with app.run_test(size=SIZE) as pilot:
        bar = app.screen.query_one("#status-progress", ProgressBar)
        assert engine.waiting.wait(WAIT)
        await pilot.pause()
        # Chunking is quick; the export after it is what takes the time.
        assert status_text(app).startswith("Preparing the model once (about 30 s)")
        assert bar.display and bar.total is None  # no steps to count: an animated bar
        seen = []
        for _ in range(2):
            engine.go_on()
            await wait_for(pilot, lambda: engine.waiting.is_set())
            await pilot.pause()
            seen.append((bar.progress, bar.total, status_text(app)))
        assert seen == [(1, 4, "Building the index: embedding 1/4"), (3, 4, "Building the index: embedding 3/4")]
        engine.go_on()
        await settle(pilot)
        assert app.searcher is not None and not bar.display
        assert "Ready" in status_text(app)


async def wait_for(pilot: object, condition: Callable[[], bool]) -> None:
    for _ in range(int(WAIT / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)  # type: ignore[attr-defined]
    raise AssertionError("the condition never held")


def test_needs_model_export_on_a_first_run_only(tmp_path: Path) -> None:
    from indexer.encoder_cache import EXPORT_VERSION, encoder_dir
    from indexer.model_files import resolve_model
    from tui.engine import needs_model_export

    settings = Settings(corpus_dir=tmp_path / "notes", index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    assert needs_model_export(settings)
    model = resolve_model(None)
    folder = encoder_dir(model, settings.cache_dir)
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(b"onnx")
    record = {"model_fingerprint": model.fingerprint, "export": EXPORT_VERSION, "sha256": "0" * 64, "size": 4}
    (folder / "encoder.json").write_text(json.dumps(record))
    assert not needs_model_export(settings)
    (folder / "encoder.json").unlink()
    (settings.index_dir / "build-1").mkdir(parents=True)
    (settings.index_dir / "current").symlink_to("build-1")
    assert not needs_model_export(settings)  # an index exists: at most a refresh
