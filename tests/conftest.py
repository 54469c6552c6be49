from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer import embedder_factory
from indexer.model_files import ModelInfo
from indexer.settings import ChunkerSettings, Settings

from .fakes import FakeEmbedder, WordCounter

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def shared_file(relative: str) -> Path:
    """A file of the read-only shared inputs (the source notes, the AWS dev split), which live outside git.

    Looked for under ``$NOTES_QA_SHARED`` if set, then in a ``shared`` folder beside the checkout or beside
    any folder above it (a clone made anywhere below the folder that holds ``shared`` finds it). When
    no candidate has it, the first is returned, so that the tests needing it skip.
    """
    candidates = [Path(os.environ["NOTES_QA_SHARED"]) / relative] if os.environ.get("NOTES_QA_SHARED") else []
    candidates += [folder / "shared" / relative for folder in ROOT.parents]
    return next((path for path in candidates if path.is_file()), candidates[0])


os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def write_notes(folder: Path, notes: dict[str, str]) -> Path:
    for name, text in notes.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


SMALL_NOTES = {
    "database.md": "# Database\n\n## DynamoDB\n\n- NoSQL key/value store\n- Maximum size of an item is 400KB\n"
    "- Time To Live (TTL) deletes expired items\n\n## RDS\n\n- Relational database with read replicas\n"
    "- Multi-AZ gives automatic failover\n",
    "cache.md": "# Cache\n\n## ElastiCache\n\n- Redis has replication and persistence\n"
    "- Memcached is multi-threaded and non persistent\n",
    "storage.md": "# Storage\n\n## S3\n\n- durable (99.999999999%)\n- pre-signed URL gives temporary access to one object\n",
}


@pytest.fixture(autouse=True)
def _embedder_backends() -> Iterator[None]:
    """Undo the embedder backends a test registers (``register_backend``), so the next test sees the built-in ones."""
    saved = embedder_factory.saved_backends()
    yield
    embedder_factory.restore_backends(saved)


@pytest.fixture
def fake_model(tmp_path: Path) -> ModelInfo:
    return ModelInfo(tmp_path, "fake", "f" * 64, 64, 256, tmp_path / "tokenizer.json")


def small_settings(tmp_path: Path, notes: dict[str, str]) -> Settings:
    """Settings over ``notes`` written to ``tmp_path/notes``, with small chunks (the fake model's size)."""
    return Settings(
        corpus_dir=write_notes(tmp_path / "notes", notes),
        index_dir=tmp_path / "index",
        cache_dir=tmp_path / "cache",
        chunker=ChunkerSettings(target_tokens=64, max_tokens=64),
    )


@pytest.fixture
def notes_settings(tmp_path: Path) -> Settings:
    return small_settings(tmp_path, SMALL_NOTES)


@pytest.fixture
def fakes() -> tuple[FakeEmbedder, WordCounter]:
    return FakeEmbedder(), WordCounter()


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache folder (with the ONNX export of the bundled model) for the whole run.

    NOTES_QA_TEST_CACHE reuses a folder across runs when set (local development).
    """
    reuse = os.environ.get("NOTES_QA_TEST_CACHE")
    return Path(reuse) if reuse else tmp_path_factory.mktemp("model-cache")
