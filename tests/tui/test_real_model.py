"""The app over the bundled notes with the real bundled model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from indexer.settings import Settings
from tui.app import create_app
from tui.engine import IndexEngine
from tui.widgets.results import ResultsList

from ..conftest import ROOT
from .conftest import ask

pytestmark = pytest.mark.model


async def test_dynamodb_item_size_with_the_real_model(tmp_path: Path, model_cache: Path) -> None:
    corpus = shutil.copytree(ROOT / "corpus", tmp_path / "corpus")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", cache_dir=model_cache)
    app = create_app(IndexEngine(settings), debounce=5)
    async with app.run_test(size=(100, 30)) as pilot:
        await ask(pilot, "How big can a DynamoDB item be?")
        assert not [n for n in app._notifications if n.severity == "error"]  # noqa: SLF001
        top = app.screen.query_one(ResultsList).hits[0]
        assert top.chunk.path == "database.md"
        assert "Maximum size of an item is 400KB" in top.snippet.text
        shown = "\n".join(strip.text for strip in app.screen._compositor.render_strips())  # noqa: SLF001
        assert "Maximum size of an item is 400KB" in shown
