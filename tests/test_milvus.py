"""The Milvus store (Milvus Lite, a local .db file): the VectorIndex contract, FAISS's answers, incremental
builds that insert and delete keys, crash safety, and the errors when it is missing or wrong."""

from __future__ import annotations

import builtins
import inspect
import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import indexer.search as search_module
from indexer.errors import IndexFileError, IndexWriteError, NotesQAError, UsageError
from indexer.index_files import current_build, load_index
from indexer.model_files import ModelInfo
from indexer.search import Searcher
from indexer.settings import Settings
from indexer.store_choice import collection_names, normalise_store_uri
from indexer.text_keys import text_key
from indexer.vector_index import VectorIndex

from . import test_vector_index as contract
from .fakes import FakeEmbedder
from .test_build_and_search import build

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from indexer.milvus_index import MilvusIndex, collection_keys, connect, create_collection  # noqa: E402

QUESTIONS = ["How big can a DynamoDB item be?", "redis persistence", "temporary access to an S3 object",
             "automatic failover"]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    made = connect(str(tmp_path_factory.mktemp("milvus") / "contract.db"))
    yield made
    made.close()


@pytest.fixture
def milvus_make(client: Any) -> Callable[[np.ndarray], VectorIndex]:
    def make(vectors: np.ndarray) -> VectorIndex:
        name = f"c_{uuid.uuid4().hex[:12]}"
        create_collection(client, name, vectors.shape[1])
        index = MilvusIndex(client, name, [], vectors.shape[1])
        index.add(np.arange(len(vectors), dtype=np.int64), vectors)
        return index

    return make


CONTRACT = [
    getattr(contract, name) for name in dir(contract)
    if name.startswith("test_") and list(inspect.signature(getattr(contract, name)).parameters) == ["make"]
]


def test_the_contract_suite_is_found() -> None:
    assert len(CONTRACT) >= 5


@pytest.mark.parametrize("check", CONTRACT, ids=lambda f: f.__name__)
def test_milvus_meets_the_vector_index_contract(
    check: Callable[[Callable[[np.ndarray], VectorIndex]], None], milvus_make: Callable[[np.ndarray], VectorIndex]
) -> None:
    check(milvus_make)


def test_rows_sharing_a_key_share_one_vector_and_all_come_back(client: Any) -> None:
    name = f"c_{uuid.uuid4().hex[:12]}"
    create_collection(client, name, 12)
    index = MilvusIndex(client, name, [], 12)
    vectors = contract.BASE[:3]
    index.add(np.arange(4, dtype=np.int64), np.stack([vectors[0], vectors[1], vectors[0], vectors[2]]),
              keys=["a", "b", "a", "c"])
    assert collection_keys(client, name) == {"a", "b", "c"}
    found = index.search(vectors[:1], 2).for_query(0)
    assert found.ids.tolist() == [0, 2]  # both rows of key "a", ties by row
    index.remove(np.array([0], dtype=np.int64))
    assert collection_keys(client, name) == {"a", "b", "c"}  # row 2 (now 1) still uses "a"
    index.remove(np.array([1], dtype=np.int64))
    assert collection_keys(client, name) == {"b", "c"}


def test_keys_no_row_uses_never_crowd_out_the_rows(client: Any) -> None:
    name = f"c_{uuid.uuid4().hex[:12]}"
    create_collection(client, name, 12)
    query = contract.QUERIES[:1]
    # 40 leftover keys right next to the query (a build that stopped before its clean-up)...
    near = contract.unit(query + 0.01 * np.random.default_rng(3).standard_normal((40, 12)))
    client.upsert(name, [{"pk": f"left-{i}", "vector": v.tolist()} for i, v in enumerate(near)])
    mine = contract.BASE[:5]
    client.upsert(name, [{"pk": f"mine-{i}", "vector": v.tolist()} for i, v in enumerate(mine)])
    index = MilvusIndex(client, name, [f"mine-{i}" for i in range(5)], 12)
    found = index.search(query, 5).for_query(0)
    assert sorted(found.ids.tolist()) == [0, 1, 2, 3, 4]  # ...and the rows' own five all come back
    np.testing.assert_allclose(found.scores, mine[found.ids] @ query[0], atol=1e-5)


def answers(settings: Settings, query: str, mode: str) -> list[tuple[str, int, int | None, float]]:
    result = Searcher(load_index(settings.index_dir), FakeEmbedder()).search(query, k=10, mode=mode)
    return [(h.chunk.path, h.chunk.start_line, h.answer_line, h.score) for h in result.hits]


def same(a: list[tuple[str, int, int | None, float]], b: list[tuple[str, int, int | None, float]]) -> None:
    assert a and [x[:3] for x in a] == [x[:3] for x in b]
    np.testing.assert_allclose([x[3] for x in a], [x[3] for x in b], atol=1e-5)


@pytest.fixture
def two_indexes(notes_settings: Settings, fake_model: ModelInfo, tmp_path: Path) -> tuple[Settings, Settings, Path]:
    from dataclasses import replace

    milvus = replace(notes_settings, index_dir=tmp_path / "milvus-index")
    db = tmp_path / "notes.db"
    build(notes_settings, fake_model)
    build(milvus, fake_model, store=str(db))
    return notes_settings, milvus, db


@pytest.mark.parametrize("mode", ["hybrid", "dense"])
def test_a_milvus_index_answers_as_the_faiss_index_does(
    two_indexes: tuple[Settings, Settings, Path], mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    faiss, milvus, db = two_indexes
    folder = current_build(milvus.index_dir)
    assert folder is not None and not (folder / "vectors.faiss").exists()
    record = json.loads((folder / "manifest.json").read_text())["vector_db"]
    assert record == {"backend": "milvus", "uri": str(db.resolve()), "chunks": record["chunks"],
                      "lines": record["lines"]}
    loaded = load_index(milvus.index_dir)
    assert isinstance(loaded.store, MilvusIndex) and isinstance(loaded.line_index, MilvusIndex)
    for question in QUESTIONS:
        same(answers(faiss, question, mode), answers(milvus, question, mode))
    # The candidate path (large indexes) searches chunks and lines in Milvus: the same answers again.
    monkeypatch.setattr(search_module, "EXACT_CHUNKS", 0)
    for question in QUESTIONS:
        same(answers(faiss, question, mode), answers(milvus, question, mode))


def test_a_reindex_inserts_new_keys_and_deletes_unused_ones(
    two_indexes: tuple[Settings, Settings, Path], fake_model: ModelInfo
) -> None:
    _, milvus, db = two_indexes
    chunks_name, lines_name = collection_names(milvus.index_dir, load_index(milvus.index_dir).manifest.fingerprint)
    client = connect(str(db))
    before = collection_keys(client, chunks_name)
    lines_before = collection_keys(client, lines_name)
    note = milvus.corpus_dir / "cache.md"
    note.write_text(note.read_text().replace("multi-threaded", "multi-threaded and simple"))
    (milvus.corpus_dir / "storage.md").unlink()
    for name in (chunks_name, lines_name):  # as a new process finds them: released, not searchable
        client.release_collection(name)
    embedder = FakeEmbedder()
    report = build(milvus, fake_model, embedder)  # no --store: the index keeps its Milvus store
    assert report.reason == "incremental" and report.reused > 0
    assert 0 < report.embedded < 6  # only the edited chunk and line (and nothing of the deleted note)
    index = load_index(milvus.index_dir)
    assert isinstance(index.store, MilvusIndex)
    after = collection_keys(client, chunks_name)
    assert after == {text_key(c.embed_text()) for c in index.chunks}
    assert len(before - after) >= 2 and len(after - before) == 1  # the edited chunk, and the removed note's
    assert collection_keys(client, lines_name) == {row.key for row in index.line_rows} != lines_before
    searcher = Searcher(index, FakeEmbedder())
    assert searcher.search("memcached simple", k=1).hits[0].chunk.path == "cache.md"
    assert all(h.chunk.path != "storage.md" for h in searcher.search("pre-signed URL", k=10).hits)


def test_a_build_that_stops_before_the_swap_leaves_the_live_index_answering(
    two_indexes: tuple[Settings, Settings, Path], fake_model: ModelInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    faiss, milvus, _ = two_indexes
    want = answers(milvus, QUESTIONS[0], "hybrid")
    live = current_build(milvus.index_dir)
    (milvus.corpus_dir / "storage.md").write_text("# Storage\n\n## Glacier\n\n- archives retrieved in hours\n")

    def stop(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("indexer.build.swap_in", stop)  # the new keys are in Milvus, the swap never happens
    with pytest.raises(KeyboardInterrupt):
        build(milvus, fake_model)
    monkeypatch.undo()
    assert current_build(milvus.index_dir) == live
    same(want, answers(milvus, QUESTIONS[0], "hybrid"))  # the extra keys in the collection are never returned
    same(answers(faiss, QUESTIONS[0], "hybrid"), want)


def test_the_manifest_store_record_round_trips_and_a_bad_one_is_refused(
    two_indexes: tuple[Settings, Settings, Path],
) -> None:
    from indexer.manifest import Manifest, read_manifest

    _, milvus, _ = two_indexes
    folder = current_build(milvus.index_dir)
    assert folder is not None
    manifest = read_manifest(folder)
    assert manifest.vector_db is not None and manifest.store is None
    assert Manifest.from_json(manifest.to_json(), folder) == manifest
    raw = manifest.to_json()
    raw["vector_db"] = {**raw["vector_db"], "backend": "qdrant"}
    with pytest.raises(IndexFileError, match="vector_db"):
        Manifest.from_json(raw, folder)


def test_notes_without_content_lines_leave_the_lines_collection_empty(tmp_path: Path, fake_model: ModelInfo) -> None:
    from indexer.chunker import ChunkerSettings

    from .conftest import write_notes

    corpus = write_notes(tmp_path / "notes", {"title.md": "# Only a title\n"})
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", cache_dir=tmp_path / "cache",
                        chunker=ChunkerSettings(target_tokens=64, max_tokens=64))
    build(settings, fake_model, store=str(tmp_path / "notes.db"))
    index = load_index(settings.index_dir)
    assert isinstance(index.line_index, MilvusIndex) and index.line_index.ntotal == 0
    assert isinstance(index.store, MilvusIndex) and index.store.ntotal == len(index.chunks)
    Searcher(index, FakeEmbedder()).search("title", k=3)  # answers without line vectors


def test_switching_back_to_faiss_drops_the_collections(
    two_indexes: tuple[Settings, Settings, Path], fake_model: ModelInfo
) -> None:
    _, milvus, db = two_indexes
    chunks_name, lines_name = collection_names(milvus.index_dir, load_index(milvus.index_dir).manifest.fingerprint)
    build(milvus, fake_model, store="faiss")
    folder = current_build(milvus.index_dir)
    assert folder is not None and (folder / "vectors.faiss").exists()
    assert load_index(milvus.index_dir).line_index is None
    client = connect(str(db))
    assert not client.has_collection(chunks_name) and not client.has_collection(lines_name)


def test_a_missing_collection_is_a_one_line_error_with_a_fix(two_indexes: tuple[Settings, Settings, Path]) -> None:
    _, milvus, db = two_indexes
    chunks_name, _ = collection_names(milvus.index_dir, load_index(milvus.index_dir).manifest.fingerprint)
    connect(str(db)).drop_collection(chunks_name)
    with pytest.raises(IndexFileError) as caught:
        load_index(milvus.index_dir)
    assert "missing" in caught.value.message and "\n" not in caught.value.message
    assert caught.value.fix == "rebuild with: notes-qa index --full --store URI"


def test_a_dimension_mismatch_is_refused(client: Any) -> None:
    name = f"c_{uuid.uuid4().hex[:12]}"
    create_collection(client, name, 8)
    with pytest.raises(IndexFileError, match="8 dimensions, the index needs 12"):
        MilvusIndex(client, name, [], 12)


def test_without_the_extra_the_error_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_pymilvus(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.split(".")[0] in ("pymilvus", "milvus_lite"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pymilvus)
    with pytest.raises(NotesQAError) as caught:
        connect("/tmp/never-made.db")
    assert "milvus extra" in caught.value.message and "\n" not in caught.value.message
    assert caught.value.fix == "install it with: pip install 'notes-qa[milvus]'"


def test_a_milvus_lite_file_open_in_another_process_is_a_one_line_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    db = tmp_path / "held.db"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"from pymilvus import MilvusClient\nc = MilvusClient({str(db)!r})\n"
         "print('ready', flush=True)\ninput()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(IndexFileError) as caught:
            connect(str(db))
        assert "serves one process at a time" in caught.value.message and "\n" not in caught.value.message
        assert caught.value.fix and "--store http://" in caught.value.fix
    finally:
        holder.communicate("\n", timeout=60)


def test_an_unreachable_server_is_a_one_line_error() -> None:
    with pytest.raises(IndexFileError) as caught:
        connect("http://127.0.0.1:9")  # the discard port: nothing listens
    assert caught.value.message.startswith("cannot connect to the Milvus store http://127.0.0.1:9")
    assert "\n" not in caught.value.message and caught.value.fix


def test_an_unreachable_store_is_not_repaired_by_rebuilding(
    two_indexes: tuple[Settings, Settings, Path], fake_model: ModelInfo
) -> None:
    from indexer.service import open_or_repair

    from .fakes import WordCounter

    _, milvus, _ = two_indexes
    live = current_build(milvus.index_dir)
    assert live is not None
    manifest = json.loads((live / "manifest.json").read_text())
    manifest["vector_db"]["uri"] = "http://127.0.0.1:9"
    (live / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexWriteError, match="cannot connect to the Milvus store"):
        open_or_repair(milvus, embedder=FakeEmbedder(), token_counter=WordCounter(), model=fake_model,
                       auto_build=False)
    assert current_build(milvus.index_dir) == live  # no rebuild was attempted


@pytest.mark.parametrize("uri", ["notes.sqlite", "ftp://host", ""])
def test_a_store_that_is_not_faiss_a_db_file_or_a_url_is_a_usage_error(uri: str) -> None:
    with pytest.raises(UsageError):
        normalise_store_uri(uri)
    assert normalise_store_uri("FAISS") == "faiss"
    assert normalise_store_uri("http://h:19530/") == "http://h:19530"


def test_a_faiss_index_is_built_and_searched_without_loading_pymilvus(notes_settings: Settings) -> None:
    import subprocess
    import sys

    probe = (
        "import sys\nfrom pathlib import Path\nfrom indexer.chunker import ChunkerSettings\n"
        "from indexer.model_files import ModelInfo\nfrom indexer.settings import Settings\n"
        "from indexer.index_files import load_index\nfrom indexer.search import Searcher\n"
        "from tests.test_build_and_search import build\nfrom tests.fakes import FakeEmbedder\n"
        f"s = Settings(corpus_dir=Path({str(notes_settings.corpus_dir)!r}), index_dir=Path({str(notes_settings.index_dir)!r}),"
        " chunker=ChunkerSettings(target_tokens=64, max_tokens=64))\n"
        f"m = ModelInfo(Path({str(notes_settings.corpus_dir)!r}), 'fake', 'f' * 64, 64, 256, Path('t.json'))\n"
        "build(s, m)\nassert Searcher(load_index(s.index_dir), FakeEmbedder()).search('redis', k=1).hits\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pymilvus', 'milvus_lite')))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=Path(__file__).resolve().parents[1],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.model
def test_the_bundled_notes_through_milvus_give_faiss_answers(tmp_path: Path, model_cache: Path) -> None:
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "NOTES_QA_CACHE": str(model_cache)}
    env.pop("NOTES_QA_STORE", None)
    cli = [sys.executable, "-m", "notes_qa_cli"]
    outputs = []
    for name, extra in (("faiss", []), ("milvus", ["--store", str(tmp_path / "notes.db")])):
        index = tmp_path / name
        subprocess.run([*cli, "index", "--index", str(index), *extra], cwd=repo, check=True, env=env,
                       capture_output=True)
        # no --store at question time: ask reads the store from the manifest
        done = subprocess.run([*cli, "ask", "--batch", "-", "--json", "-k", "10", "--index", str(index), "--no-build"],
                              cwd=repo, input="\n".join(QUESTIONS), text=True, check=True, env=env, capture_output=True)
        outputs.append([json.loads(line) for line in done.stdout.splitlines()])
    for faiss_answer, milvus_answer in zip(*outputs, strict=True):
        a, b = faiss_answer["results"], milvus_answer["results"]
        assert a and [(h["path"], h["start_line"]) for h in a] == [(h["path"], h["start_line"]) for h in b]
        np.testing.assert_allclose([h["score"] for h in a], [h["score"] for h in b], atol=1e-5)
