"""Round two of attacks on the engine's files (issue 12): each case failed before.

Planted links and special files in the index folder, hostile file names and
sizes in the corpus, altered encoder caches, copied indexes, busy or read-only
index folders, malformed BEIR data and model configurations. In-process runs use
the fake model; cases that hang on a FIFO run as subprocesses with a timeout.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from indexer.build import build_index
from indexer.chunker import MAX_LINE_CHARS, chunk_document
from indexer.embedder_factory import embedder_for_build, register_backend
from indexer.encoder_cache import EXPORT_VERSION, _stamp, cached_onnx, encoder_dir, ensure_onnx
from indexer.errors import EXIT_CORPUS, EXIT_EVAL, EXIT_INDEX, EXIT_MODEL, ModelError, NotesQAError
from indexer.evaluate.beir import load_beir
from indexer.fileio import sha256_file
from indexer.index_files import CURRENT, current_build, load_index
from indexer.model_files import ModelInfo, resolve_model
from indexer.settings import ChunkerSettings, Settings

from .checkpoints import Helper
from .conftest import ROOT, SMALL_NOTES, write_notes
from .fakes import FakeBackend, FakeEmbedder, WordCounter
from .reliability_support import FakeCLI, assert_clean_error, assert_ok, fake_model_info


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> FakeCLI:
    return FakeCLI(monkeypatch, capsys, tmp_path)


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    return write_notes(tmp_path / "notes", SMALL_NOTES)


@pytest.fixture
def args(cli: FakeCLI, notes: Path, tmp_path: Path) -> list[str]:
    """A built index over the small notes; returns the --corpus/--index arguments."""
    found = ["--corpus", str(notes), "--index", str(tmp_path / "index")]
    assert cli("index", *found).code == 0
    return found


def live(tmp_path: Path) -> Path:
    folder = current_build(tmp_path / "index")
    assert folder is not None
    return folder


# --------------------------------------------------------------------------- F1: the lock file


@pytest.mark.parametrize("how", ["symlink", "hardlink"])
def test_lock_file_planted_as_a_link_never_touches_its_target(
    cli: FakeCLI, notes: Path, tmp_path: Path, how: str
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (tmp_path / "index").mkdir()
    lock = tmp_path / "index" / ".lock"
    lock.symlink_to(victim) if how == "symlink" else os.link(victim, lock)
    done = cli("index", "--corpus", str(notes), "--index", str(tmp_path / "index"))
    assert_clean_error(done, EXIT_INDEX, ".lock", "remove it", case=f"index: .lock is a {how} to a victim file")
    assert victim.read_text() == "precious\n"


# --------------------------------------------------------------------------- F2, links: corpus names


def test_file_name_that_is_not_utf8_is_skipped_with_a_warning(cli: FakeCLI, notes: Path, tmp_path: Path) -> None:
    bad = os.path.join(os.fsencode(notes), b"bad\xffname.md")
    with open(bad, "wb") as handle:
        handle.write(b"# B\n\nbadgers\n")
    found = ["--corpus", str(notes), "--index", str(tmp_path / "index")]
    done = cli("index", *found)
    assert_ok(done, "bad\ufffdname.md: file name is not valid UTF-8", case="corpus: file name not UTF-8")
    assert "indexed 3 files" in done.out
    assert cli("ask", *found, "S3 durability").code == 0


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    private = tmp_path / "private"
    private.mkdir()
    (private / "secret.md").write_text("# Secret\n\n- the vault code is 4242\n")
    return private


def test_links_leaving_the_corpus_are_skipped_unless_asked(
    cli: FakeCLI, notes: Path, outside: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (notes / "secret.md").symlink_to(outside / "secret.md")
    (notes / "more").symlink_to(outside)
    (notes / "inside.md").symlink_to(notes / "cache.md")  # a link within the corpus is fine
    found = ["--corpus", str(notes), "--index", str(tmp_path / "index")]
    done = cli("index", *found)
    assert_ok(done, "secret.md: a link to a file outside the corpus; skipped", "more/: a link to a folder outside",
              case="corpus: links leading outside the corpus")
    text = "\n".join(c.text for c in load_index(tmp_path / "index").chunks)
    assert "4242" not in text and "Memcached" in text
    assert {c.path for c in load_index(tmp_path / "index").chunks} >= {"inside.md"}
    done = cli("index", "--follow-links", *found)
    assert done.code == 0 and "outside" not in done.err, done.err
    assert {"secret.md", "more/secret.md"} <= {c.path for c in load_index(tmp_path / "index").chunks}
    monkeypatch.setenv("NOTES_QA_FOLLOW_LINKS", "1")
    assert Settings.from_env().follow_links


def test_index_folder_equal_to_the_corpus_says_so(cli: FakeCLI, notes: Path) -> None:
    done = cli("index", "--corpus", str(notes), "--index", str(notes))
    assert_clean_error(done, EXIT_CORPUS, "is the index folder", "--index a folder of its own",
                       case="index: --index equal to --corpus")


# --------------------------------------------------------------------------- F10: a huge line


def test_one_huge_line_is_capped(tmp_path: Path) -> None:
    line = " ".join(f"word{i % 977}" for i in range(400_000))  # 3.6 MB on one line
    chunks = chunk_document("big.md", "# Big\n\n" + line + "\n", WordCounter(),
                            ChunkerSettings(max_tokens=256, target_tokens=256))
    assert sum(len(c.text) for c in chunks) <= MAX_LINE_CHARS + 100 * len(chunks)
    assert len(chunks) < 200


def test_huge_line_note_builds_with_a_warning(cli: FakeCLI, notes: Path, tmp_path: Path) -> None:
    (notes / "blob.md").write_text("# Blob\n\n" + "x" * 3_000_000 + "\n")
    done = cli("index", "--corpus", str(notes), "--index", str(tmp_path / "index"))
    assert_ok(done, f"blob.md: a line is over {MAX_LINE_CHARS:,} characters", case="corpus: 3 MB single-line note")
    index = load_index(tmp_path / "index")
    assert sum(len(c.text) for c in index.chunks if c.path == "blob.md") <= MAX_LINE_CHARS + len("# Blob\n")


# --------------------------------------------------------------------------- F5: special files in the index


def run_cli(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """notes-qa with the fake model in a subprocess; a hang fails the test instead of stalling it."""
    env = dict(os.environ, NOTES_QA_CACHE=str(tmp_path / "cache"))
    return subprocess.run(
        [sys.executable, "-m", "tests.reliability_support", "cli", "--", *argv],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )


def plant(folder: Path, name: str, what: str) -> None:
    (folder / name).unlink()
    if what == "fifo":
        os.mkfifo(folder / name)
    else:
        (folder / name).symlink_to("/dev/zero")


SPECIAL = [("manifest.json", "fifo"), ("vectors.faiss", "fifo"), ("lines.npy", "zero"), ("manifest.json", "zero")]


@pytest.mark.parametrize(("name", "what"), SPECIAL, ids=[f"{n}-{w}" for n, w in SPECIAL])
def test_fifo_or_device_in_the_index_is_refused_and_repaired(
    notes: Path, tmp_path: Path, name: str, what: str
) -> None:
    found = ["--corpus", str(notes), "--index", str(tmp_path / "index")]
    assert run_cli(tmp_path, "index", *found).returncode == 0
    plant(live(tmp_path), name, what)
    done = run_cli(tmp_path, "ask", "--no-build", *found, "S3 durability")
    assert done.returncode == EXIT_INDEX and "Traceback" not in done.stderr, done.stderr
    error, fix = done.stderr.strip().splitlines()  # the error, then its fix on a line of its own
    assert error.startswith("notes-qa: error: ") and fix == "notes-qa: rebuild with: notes-qa index --full", done.stderr
    done = run_cli(tmp_path, "index", "--full", *found)
    assert done.returncode == 0, done.stderr
    load_index(tmp_path / "index")
    plant(live(tmp_path), name, what)
    done = run_cli(tmp_path, "ask", *found, "S3 durability")  # repairs itself, saying so
    assert done.returncode == 0 and "storage.md" in done.stdout, done.stderr
    assert "rebuilding it" in done.stderr or "unusable" in done.stderr, done.stderr


# --------------------------------------------------------------------------- F11: a copied index


def test_index_copied_with_cp_rL_is_read_and_rebuilt(cli: FakeCLI, args: list[str], tmp_path: Path) -> None:
    folder = live(tmp_path)
    link = tmp_path / "index" / CURRENT
    link.unlink()
    shutil.copytree(folder, link)  # what cp -rL leaves: a real folder named current
    assert cli("ask", "--no-build", *args, "S3 durability").code == 0
    for _ in range(2):
        done = cli("index", "--full", *args)
        assert_ok(done, case="index: after cp -rL (current is a folder)")
        assert link.is_symlink()
    assert cli("ask", "--no-build", *args, "S3 durability").code == 0


# --------------------------------------------------------------------------- F14, F15: busy or read-only index


def test_ask_while_another_run_builds_answers_at_once(cli: FakeCLI, args: list[str], notes: Path, tmp_path: Path) -> None:
    (notes / "cache.md").write_text("# Cache\n\n- Redis sorted sets\n")
    fd = os.open(tmp_path / "index" / ".lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another process's build, as far as ask can tell
    outcome: list[Any] = []
    try:
        worker = threading.Thread(target=lambda: outcome.append(cli("ask", *args, "S3 durability")), daemon=True)
        worker.start()
        worker.join(timeout=120)  # the old code waited 600 s here
        assert outcome, "ask waited for the other build instead of answering"
    finally:
        os.close(fd)
    assert_ok(outcome[0], "another notes-qa run is rebuilding the index (notes 1 changed since it was built); "
              "answering from the current index", case="ask: notes changed while another run builds")
    assert "storage.md" in outcome[0].out


def test_ask_waits_for_a_first_build_elsewhere_and_does_not_redo_it(notes: Path, tmp_path: Path) -> None:
    found = ["--corpus", str(notes), "--index", str(tmp_path / "index")]
    env = {"NOTES_QA_CACHE": str(tmp_path / "cache")}
    # The other run holds the build lock and waits, mid-embedding, until told to go on.
    other = Helper("cli", "--", "index", *found, pause_at="embed#1", env=env)
    outcome: list[subprocess.CompletedProcess[str]] = []
    try:
        other.paused()
        assert (tmp_path / "index" / ".lock").read_text().strip() == str(other.pid)
        # With no index yet, ask must wait for that build (there is nothing to answer from).
        asker = threading.Thread(target=lambda: outcome.append(run_cli(tmp_path, "ask", *found, "S3 durability")))
        asker.start()
        other.go()
        asker.join(timeout=240)
    finally:
        code, _, err = other.finish()
    assert code == 0, err
    assert outcome, "ask never finished"
    done = outcome[0]
    assert done.returncode == 0, done.stderr
    assert "storage.md" in done.stdout
    assert "built the index first" not in done.stderr and "(--full)" not in done.stderr, done.stderr


def test_read_only_index_answers_from_the_old_one(
    cli: FakeCLI, args: list[str], notes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import indexer.lock

    real_open = os.open

    def read_only(path: Any, flags: int, *rest: Any) -> int:
        if str(path).endswith(".lock") and flags & (os.O_RDWR | os.O_WRONLY):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *rest)

    monkeypatch.setattr(indexer.lock.os, "open", read_only)
    (notes / "cache.md").write_text("# Cache\n\n- Redis sorted sets\n")
    done = cli("index", *args)
    assert_clean_error(done, EXIT_INDEX, "cannot write in the index folder", "(Read-only file system)",
                       case="index: read-only index folder")
    done = cli("ask", "--json", *args, "S3 durability")
    assert_ok(done, "could not be refreshed (Read-only file system); answering from the previous index",
              case="ask: notes changed, read-only index")
    payload = json.loads(done.out)
    assert payload["results"] and "Read-only file system" in payload["warnings"][0]


# --------------------------------------------------------------------------- F3: the encoder cache


def plant_encoder(model: ModelInfo, cache: Path, payload: bytes) -> Path:
    folder = encoder_dir(model, cache)
    folder.mkdir(parents=True)
    onnx = folder / "model.onnx"
    onnx.write_bytes(payload)
    record = {"model_fingerprint": model.fingerprint, "export": EXPORT_VERSION, "sha256": sha256_file(onnx),
              "size": len(payload), "stamp": _stamp(onnx)}
    (folder / "encoder.json").write_text(json.dumps(record))
    return onnx


def alter_in_place(path: Path, payload: bytes) -> None:
    """Change the bytes, keep size, inode and mtime (``touch -d`` afterwards)."""
    before = path.stat()
    with open(path, "r+b") as handle:
        handle.write(payload)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)


@pytest.mark.parametrize("damage", [b"G" * 500, bytes(500)], ids=["weights changed", "zeros"])
def test_encoder_altered_in_place_with_its_mtime_restored_is_refused_and_made_again(
    fake_model: ModelInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: bytes
) -> None:
    import indexer.onnx_export

    cache = tmp_path / "cache"
    onnx = plant_encoder(fake_model, cache, b"graph" * 100)
    assert cached_onnx(fake_model, cache) is not None  # verified once in this process
    alter_in_place(onnx, damage)
    assert cached_onnx(fake_model, cache) is None
    made: list[Path] = []

    def export(model_dir: Path, out_path: Path, **_: Any) -> None:
        made.append(out_path)
        out_path.write_bytes(b"fresh" * 100)

    monkeypatch.setattr(indexer.onnx_export, "export_onnx", export)
    record = ensure_onnx(fake_model, cache)  # what every build calls: the damaged file is made again
    assert made == [onnx] and onnx.read_bytes() == b"fresh" * 100 and record.sha256 == sha256_file(onnx)


# --------------------------------------------------------------------------- F6, F12: evaluation


def beir(folder: Path, corpus: str) -> Path:
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(corpus)
    (folder / "queries.jsonl").write_text('{"_id": "q1", "text": "item size"}\n{"_id": "q1", "text": "again"}\n')
    (folder / "qrels" / "test.tsv").write_text("q1\td1\t1\n")
    return folder


def test_beir_duplicate_ids_are_dropped_with_a_warning(cli: FakeCLI, tmp_path: Path) -> None:
    folder = beir(tmp_path / "b", '{"_id": "d1", "text": "item max 400KB"}\n{"_id": "d1", "text": "item max 400KB"}\n'
                  '{"_id": "d2", "text": "S3 is durable"}\n')
    data = load_beir(folder)
    assert data.doc_ids == ("d1", "d2") and data.queries == {"q1": "item size"}
    done = cli("eval", "--beir", str(folder), "--index", str(tmp_path / "bi"), "--json", "--mode", "dense")
    assert_ok(done, "1 documents in corpus.jsonl repeat an earlier _id", case="eval: BEIR duplicate _id")
    payload = json.loads(done.out)
    assert payload["metrics"]["ndcg@10"] <= 1.0
    assert (payload["precision"], payload["backend"]) == (payload["variant"], payload["encoder"]) == ("fp32", "fake")


def test_beir_cache_that_is_a_file(cli: FakeCLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = beir(tmp_path / "b", '{"_id": "d1", "text": "item max 400KB"}\n{"_id": "d2", "text": "S3"}\n')
    (folder / "queries.jsonl").write_text('{"_id": "q1", "text": "item size"}\n')
    (tmp_path / "afile").write_text("x")
    done = cli("eval", "--beir", str(folder), "--index", str(tmp_path / "afile"))
    assert_clean_error(done, EXIT_INDEX, "cannot write the BEIR index cache", "Not a directory",
                       case="eval: --beir with --index a file")
    monkeypatch.setenv("NOTES_QA_CACHE", str(tmp_path / "afile"))
    done = cli("eval", "--beir", str(folder))
    assert_clean_error(done, EXIT_INDEX, "Not a directory", case="eval: --beir with NOTES_QA_CACHE a file")


# --------------------------------------------------------------------------- F13, ModelError: the model


class WrongDimension(FakeEmbedder):
    """Says 64 dimensions (the model's config) but gives 32, as a pooling config that disagrees would."""


    def _encode(self, texts: Any) -> np.ndarray:
        vectors = super()._encode(texts)[:, :32]
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


def test_encoder_giving_another_dimension_fails_the_build_not_every_ask(notes: Path, tmp_path: Path) -> None:
    settings = Settings(corpus_dir=notes, index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    with pytest.raises(ModelError, match=r"gives vectors of shape \(32,\) but its configuration says 64"):
        build_index(settings, embedder=WrongDimension(64), token_counter=WordCounter(),
                    model=fake_model_info(tmp_path))
    assert current_build(tmp_path / "index") is None


def test_pooling_with_two_modes_doubles_the_dimension(tmp_path: Path) -> None:
    model = tmp_path / "model"
    (model / "1_Pooling").mkdir(parents=True)
    (model / "config.json").write_text(json.dumps({"hidden_size": 384, "max_position_embeddings": 512}))
    (model / "tokenizer.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"\0" * 64)
    (model / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": 384, "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": True}))
    assert resolve_model(model).dim == 768


def test_encoder_failing_mid_build_is_one_line(cli: FakeCLI, notes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Failing(FakeEmbedder):
        def _encode(self, texts: Any) -> np.ndarray:
            raise ModelError("onnxruntime failed to run the model: out of memory.")

    register_backend("fake", FakeBackend(Failing), for_builds=True)
    assert issubclass(ModelError, NotesQAError)
    done = cli("index", "--corpus", str(notes), "--index", str(tmp_path / "index"))
    assert_clean_error(done, EXIT_MODEL, "onnxruntime failed to run the model", case="index: encoder fails mid-build")


def test_fifo_as_questions_or_beir_file_is_refused(notes: Path, tmp_path: Path) -> None:
    found = ["--corpus", str(notes), "--index", str(tmp_path / "index")]
    os.mkfifo(tmp_path / "questions.jsonl")
    done = run_cli(tmp_path, "eval", str(tmp_path / "questions.jsonl"), *found)
    assert done.returncode == EXIT_EVAL and "not a regular file" in done.stderr, done.stderr
    folder = beir(tmp_path / "b", "")
    (folder / "corpus.jsonl").unlink()
    os.mkfifo(folder / "corpus.jsonl")
    done = run_cli(tmp_path, "eval", "--beir", str(folder), *found)
    assert done.returncode == EXIT_EVAL and "corpus.jsonl" in done.stderr, done.stderr


def test_cache_that_cannot_be_written_is_said_not_silent(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    notes: list[str] = []
    embedder = embedder_for_build(fake_model_info(tmp_path), tmp_path / "afile", "fp32", notes=notes)
    assert embedder.backend == "sentence-transformers"  # same vectors, slower
    assert len(notes) == 1 and "(Not a directory)" in notes[0] and "sentence-transformers" in notes[0], notes
