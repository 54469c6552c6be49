"""A tiny fixed corpus, an engine with the deterministic fake embedder, and Pilot helpers."""

from __future__ import annotations

import asyncio
import inspect
import time
from pathlib import Path

import pytest
from textual.pilot import Pilot

from indexer.build import build_index
from indexer.model_files import ModelInfo
from indexer.settings import ChunkerSettings, Settings
from tui.app import NotesQAApp, create_app
from tui.engine import IndexEngine
from tui.widgets.question import QuestionBox

from ..conftest import write_notes
from ..fakes import FakeEmbedder, WordCounter

#: Long, so that setting the box's text does not also start a search; tests of typing pass their own.
DEBOUNCE = 5.0

NOTES = {
    "database.md": "# Database\n\n## DynamoDB\n\n- NoSQL key/value store\n- Maximum size of an item is 400KB\n"
    "- Time To Live (TTL) deletes expired items\n- Streams capture item changes\n\n## RDS\n\n"
    "- Relational database with read replicas\n- Multi-AZ gives automatic failover\n"
    "- Backups are kept for 1 to 35 days\n",
    "cache.md": "# Cache\n\n## ElastiCache\n\n- Redis has replication and persistence\n"
    "- Memcached is multi-threaded and non persistent\n- Lazy loading fills the cache on a miss\n",
    "storage.md": "# Storage\n\n## S3\n\n- durable (99.999999999%)\n- pre-signed URL gives temporary access to one object\n"
    "- The largest object in one PUT is 5 GB\n\n## EBS\n\n- gp3 volumes are the default SSD type\n",
}


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests with asyncio.run (no pytest-asyncio needed)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames  # noqa: SLF001
    asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True


def fake_model(folder: Path) -> ModelInfo:
    return ModelInfo(folder, "fake", "f" * 64, 64, 256, folder / "tokenizer.json")


def make_settings(root: Path, notes: dict[str, str] | None = None) -> Settings:
    corpus = write_notes(root / "notes", NOTES if notes is None else notes)
    return Settings(
        corpus_dir=corpus,
        index_dir=root / "index",
        cache_dir=root / "cache",
        chunker=ChunkerSettings(target_tokens=64, max_tokens=64),
    )


def fake_engine(settings: Settings) -> IndexEngine:
    return IndexEngine(settings, embedder=FakeEmbedder(), token_counter=WordCounter(), model=fake_model(settings.cache_dir))


def prebuild(engine: IndexEngine) -> None:
    build_index(engine.settings, embedder=engine.embedder, token_counter=engine.token_counter, model=engine.model)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def engine(settings: Settings) -> IndexEngine:
    return fake_engine(settings)


@pytest.fixture
def app(engine: IndexEngine) -> NotesQAApp:
    return create_app(engine, debounce=DEBOUNCE)


async def settle(pilot: Pilot[int], timeout: float = 300.0) -> None:
    """Wait until no worker runs, no debounced search waits and messages are handled.

    ``timeout`` is generous: it only runs out when the app never settles, on a busy machine too.
    """
    app = pilot.app
    assert isinstance(app, NotesQAApp)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = [w for w in app.workers if w.group != "watch"]  # the watcher never ends
        if busy:  # (an empty list would wait for every worker)
            await app.workers.wait_for_complete(busy)
        await pilot.pause()
        if app.idle:
            await pilot.pause()
            return
        await pilot.pause(0.02)
    raise AssertionError("the app did not settle")


async def ask(pilot: Pilot[int], question: str) -> None:
    """Put ``question`` in the box, press Enter and wait for the answer."""
    await settle(pilot)
    box = pilot.app.screen_stack[0].query_one(QuestionBox)
    box.focus()
    box.value = question  # typing key by key is slow under Pilot; one test does type
    await pilot.press("enter")
    await settle(pilot)
