"""The index is never lost or trusted blindly: damaged, foreign or busy indexes.

In-process runs of ``notes-qa`` with the fake model. ``ask --no-build`` must
refuse a bad index with "rebuild with: notes-qa index --full" (exit 4, or 5 for
a model problem); plain ``ask`` rebuilds it from the notes and says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from indexer.build import build_index
from indexer.build_folders import clean_builds
from indexer.errors import EXIT_INDEX, EXIT_MODEL, IndexFileError, IndexLockedError
from indexer.fileio import sha256_file
from indexer.index_files import CURRENT, current_build, load_index
from indexer.lock import build_lock
from indexer.search import Searcher
from indexer.settings import ChunkerSettings, Settings

from .conftest import SMALL_NOTES, write_notes
from .fakes import FakeEmbedder, WordCounter
from .reliability_support import FakeCLI, assert_clean_error, assert_ok, fake_model_info

REBUILD = "rebuild with: notes-qa index --full"


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> FakeCLI:
    return FakeCLI(monkeypatch, capsys, tmp_path)


@pytest.fixture
def args(cli: FakeCLI, tmp_path: Path) -> list[str]:
    """A built index over the small notes; returns the --corpus/--index arguments."""
    notes = write_notes(tmp_path / "notes", SMALL_NOTES)
    found = ["--corpus", str(notes), "--index", str(tmp_path / "index")]
    assert cli("index", *found).code == 0
    return found


def live(tmp_path: Path) -> Path:
    folder = current_build(tmp_path / "index")
    assert folder is not None
    return folder


def rehash(folder: Path, name: str) -> None:
    """Make the manifest agree with an edited file (a careful forger, or bit rot plus bad luck)."""
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][name] = sha256_file(folder / name)
    manifest["file_sizes"][name] = (folder / name).stat().st_size
    (folder / "manifest.json").write_text(json.dumps(manifest))


def edit_manifest(folder: Path, change: Callable[[dict[str, Any]], object]) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    change(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))


def truncate(folder: Path, name: str) -> None:
    data = (folder / name).read_bytes()
    (folder / name).write_bytes(data[: len(data) // 2])


def flip_bit(folder: Path, name: str) -> None:
    data = bytearray((folder / name).read_bytes())
    data[len(data) // 2] ^= 0x10
    (folder / name).write_bytes(bytes(data))


def drop_line(folder: Path, name: str) -> None:
    lines = (folder / name).read_text().splitlines(keepends=True)
    (folder / name).write_text("".join(lines[1:]))


def forged(damage: Callable[[Path, str], None], name: str) -> Callable[[Path], None]:
    def both(folder: Path) -> None:
        damage(folder, name)
        rehash(folder, name)

    return both


DAMAGE: list[tuple[str, Callable[[Path], object], str]] = [
    ("index: truncated vectors.faiss", lambda f: truncate(f, "vectors.faiss"), "vectors.faiss is"),
    ("index: truncated vectors.faiss, checksum and size forged",
     forged(truncate, "vectors.faiss"), "corrupt or truncated"),
    ("index: truncated lines.npy, checksum and size forged", forged(truncate, "lines.npy"), "lines.npy"),
    ("index: missing line in chunks.jsonl", lambda f: drop_line(f, "chunks.jsonl"), "chunks.jsonl is"),
    ("index: missing line in chunks.jsonl, checksum and size forged",
     forged(drop_line, "chunks.jsonl"), "chunks.jsonl has"),
    ("index: deleted bm25 file", lambda f: (f / "bm25.indptr.npy").unlink(), "missing or unreadable"),
    ("index: garbage manifest.json", lambda f: (f / "manifest.json").write_bytes(b"\x00\xffnot json{"), "manifest"),
    ("index: manifest.json is a list", lambda f: (f / "manifest.json").write_text("[1, 2]"), "manifest is invalid"),
    ("index: edited manifest (chunk count)",
     lambda f: edit_manifest(f, lambda m: m["counts"].update(chunks=m["counts"]["chunks"] + 1)), "the manifest says"),
    ("index: edited manifest (size)",
     lambda f: edit_manifest(f, lambda m: m["file_sizes"].update({"lines.json": 1})), "the manifest says 1 (truncated"),
    ("index: manifest of an older build (no sizes), bit-flipped lines.npy",
     lambda f: (edit_manifest(f, lambda m: m.pop("file_sizes")), flip_bit(f, "lines.npy")),
     "lines.npy does not match its checksum"),
    ("index: edited manifest (file name with a path)",
     lambda f: edit_manifest(f, lambda m: m["files"].update({"../../etc/passwd": "0" * 64})), "file name"),
    ("index: edited manifest (dimension)",
     lambda f: edit_manifest(f, lambda m: m["model"].update(dim=32)), "expected"),
    ("index: newer format version",
     lambda f: edit_manifest(f, lambda m: m.update(format_version=99)), "newer than this notes-qa reads"),
]


@pytest.mark.parametrize(("case", "damage", "needle"), DAMAGE, ids=[d[0] for d in DAMAGE])
def test_damaged_index_is_refused_then_rebuilt(
    cli: FakeCLI, args: list[str], tmp_path: Path, case: str, damage: Callable[[Path], object], needle: str
) -> None:
    damage(live(tmp_path))
    refused = cli("ask", "--no-build", *args, "S3 durability")
    assert_clean_error(refused, EXIT_INDEX, needle, REBUILD.split(": ")[1], case=case + " (ask --no-build)")
    rebuilt = cli("ask", *args, "S3 durability")
    assert_ok(rebuilt, case=case + " (ask: rebuilt)")
    assert "Storage > S3" in rebuilt.out
    said = " ".join(rebuilt.warnings())
    assert "cannot be used" in said or "previous index is unusable" in said, said  # says why
    assert "rebuilt the index" in said or "built the index first" in said, said  # and that it rebuilt
    index = load_index(tmp_path / "index")  # sound again
    assert Searcher(index, FakeEmbedder()).search("S3 durability", k=2).hits


def test_missing_index(cli: FakeCLI, tmp_path: Path) -> None:
    notes = write_notes(tmp_path / "notes", SMALL_NOTES)
    done = cli("ask", "--no-build", "--corpus", str(notes), "--index", str(tmp_path / "none"), "x")
    assert_clean_error(done, EXIT_INDEX, "no index at", "notes-qa index", case="index: missing (ask --no-build)")
    done = cli("ask", "--corpus", str(notes), "--index", str(tmp_path / "none"), "S3 durability")
    assert_ok(done, "built the index first", case="index: missing (ask builds it)")
    assert "no previous index" in done.err


def test_index_path_that_is_a_file(cli: FakeCLI, tmp_path: Path) -> None:
    notes = write_notes(tmp_path / "notes", SMALL_NOTES)
    (tmp_path / "file").write_text("x")
    done = cli("index", "--corpus", str(notes), "--index", str(tmp_path / "file"))
    assert_clean_error(done, EXIT_INDEX, "cannot create the index folder", "--index", case="index: --index is a file")


def test_index_built_with_another_model(cli: FakeCLI, args: list[str], tmp_path: Path) -> None:
    other = fake_model_info(tmp_path / "other-model", dim=32, fingerprint="e" * 64)
    settings = Settings(corpus_dir=Path(args[1]), index_dir=Path(args[3]), cache_dir=tmp_path / "cache",
                        chunker=ChunkerSettings())
    build_index(settings, embedder=FakeEmbedder(32), token_counter=WordCounter(), model=other)
    for extra in (["--no-build"], []):
        done = cli("ask", *extra, *args, "S3 durability")
        assert_clean_error(done, EXIT_MODEL, "built with model fake@eeeeeeeeeeee", REBUILD,
                           case="index: built with another model/dimension" + (" (--no-build)" if extra else ""))
    rebuilt = cli("index", *args)
    assert_ok(rebuilt, case="index: built with another model, then notes-qa index")
    assert "the model or chunker settings changed: full rebuild" in rebuilt.out
    assert cli("ask", "--no-build", *args, "S3 durability").code == 0


def test_newer_format_is_rebuilt_by_index_saying_so(cli: FakeCLI, args: list[str], tmp_path: Path) -> None:
    edit_manifest(live(tmp_path), lambda m: m.update(format_version=2))
    done = cli("index", *args)
    assert_ok(done)
    assert "newer than this notes-qa reads" in done.out and "full rebuild" in done.out


@pytest.mark.parametrize(
    ("case", "make", "needle"),
    [
        ("model: path missing", lambda p: p / "nothing", "does not exist"),
        ("model: a file", lambda p: (p / "f.bin").write_bytes(b"\x00") and p / "f.bin", "is not a folder"),
        ("model: an empty folder", lambda p: (p / "empty").mkdir() or p / "empty", "not a sentence-transformers model"),
        ("model: garbage config.json", lambda p: _model_folder(p, "{not json"), "config.json is not readable JSON"),
        ("model: config.json without dimension", lambda p: _model_folder(p, '{"x": 1}'), "embedding dimension"),
    ],
)
def test_model_that_is_not_a_model(
    cli: FakeCLI, args: list[str], tmp_path: Path, case: str, make: Callable[[Path], Path], needle: str
) -> None:
    target = make(tmp_path)
    for command in (["index"], ["ask", "x"]):
        done = cli(*command, *args, "--model", str(target))
        assert_clean_error(done, EXIT_MODEL, needle, case=f"{case} ({command[0]})")


def _model_folder(root: Path, config: str) -> Path:
    folder = root / "fake-st"
    folder.mkdir()
    (folder / "config.json").write_text(config)
    (folder / "tokenizer.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"not weights")
    return folder


# --------------------------------------------------------------------------- trust


def test_sizes_are_checked_before_faiss_or_numpy_read(
    cli: FakeCLI, args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    truncate(live(tmp_path), "lines.npy")
    touched: list[str] = []
    import indexer.store

    monkeypatch.setattr(indexer.store.VectorStore, "load", lambda *a, **k: touched.append("faiss"))
    real_load = np.load

    def loading(path: Path, *a: object, **k: object) -> object:
        touched.append(Path(path).name)
        return real_load(path, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(np, "load", loading)
    with pytest.raises(IndexFileError, match="lines.npy is"):
        load_index(tmp_path / "index")
    assert "faiss" not in touched and "lines.npy" not in touched
    assert set(touched) <= {"notes.stat.npy", "notes.sha256.npy"}  # the manifest's note table, its sizes checked first


# A byte changed in place, size kept: a load no longer hashes the index (that read every byte twice on each
# cold ask), so these load and answer; ``notes-qa verify`` hashes every file and names the damaged one.
IN_PLACE: list[tuple[str, Callable[[Path], object], str]] = [
    ("bit-flipped vectors.faiss", lambda f: flip_bit(f, "vectors.faiss"), "vectors.faiss does not match its checksum"),
    ("bit-flipped lines.npy", lambda f: flip_bit(f, "lines.npy"), "lines.npy does not match its checksum"),
    ("edited manifest (checksum)", lambda f: edit_manifest(f, lambda m: m["files"].update({"lines.json": "0" * 64})),
     "lines.json does not match its checksum"),
]


@pytest.mark.parametrize(("case", "damage", "needle"), IN_PLACE, ids=[d[0] for d in IN_PLACE])
def test_verify_finds_what_a_load_does_not(
    cli: FakeCLI, args: list[str], tmp_path: Path, case: str, damage: Callable[[Path], object], needle: str
) -> None:
    ok = cli("verify", *args)
    assert_ok(ok, case="verify: a sound index")
    assert ok.out.strip() == "index OK: 15 files, 3 notes checked"
    damage(live(tmp_path))
    assert_ok(cli("ask", "--no-build", *args, "S3 durability"), case=f"index: {case} (ask --no-build loads it)")
    found = cli("verify", *args)
    assert_clean_error(found, EXIT_INDEX, needle, REBUILD, case=f"index: {case} (verify)")
    as_json = cli("verify", "--json", *args)
    assert as_json.code == EXIT_INDEX
    assert json.loads(as_json.out) == {"ok": False, "error": found.err_lines[0].removeprefix("notes-qa: error: "),
                                       "fix": REBUILD}


def test_verify_names_a_note_that_differs(cli: FakeCLI, args: list[str], tmp_path: Path) -> None:
    report = json.loads(cli("verify", "--json", *args).out)
    assert (report["ok"], report["files"], report["notes"]) == (True, 15, 3)
    note = Path(args[1]) / "storage.md"
    note.write_text(note.read_text() + "- Glacier is for archives\n")
    done = cli("verify", *args)
    assert_clean_error(done, EXIT_INDEX, "note storage.md is changed since the index was built", "notes-qa index",
                       case="notes: a note changed (verify)")
    assert "--full" not in done.err  # an incremental build is enough


def test_a_pickle_in_the_index_is_never_loaded(args: list[str], tmp_path: Path) -> None:
    folder = live(tmp_path)
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self) -> tuple[object, ...]:
            return (open, (str(marker), "w"))

    with (folder / "lines.npy").open("wb") as handle:
        np.save(handle, np.array([Payload()], dtype=object), allow_pickle=True)
    rehash(folder, "lines.npy")
    with pytest.raises(IndexFileError, match="lines.npy"):
        load_index(tmp_path / "index")
    assert not marker.exists()
    assert not any(p.suffix in (".pkl", ".pickle", ".py") for p in folder.iterdir())


def test_clean_never_removes_the_live_build(tmp_path: Path) -> None:
    """Builds killed between rename and swap leave newer build-* folders; the live one stays."""
    root = tmp_path / "index"
    for stamp in ("build-1", "build-2", "build-3", "build-4"):
        (root / stamp).mkdir(parents=True)
    (root / CURRENT).symlink_to("build-1")
    (root / "tmp-5").mkdir()
    (root / ".current-77").symlink_to("build-4")
    clean_builds(root, keep=set())
    assert sorted(p.name for p in root.iterdir()) == ["build-1", "build-3", "build-4", "current"]


def test_second_build_while_one_runs_is_refused_or_waits(tmp_path: Path) -> None:
    root = tmp_path / "index"
    busy = r"another notes-qa index run \(pid \d+\) is building"
    with build_lock(root):
        with pytest.raises(IndexLockedError, match=busy) as refused, build_lock(root):
            pass
        assert refused.value.fix == "wait for it to finish and run again"
        with pytest.raises(IndexLockedError), build_lock(root, wait_seconds=0.3):
            pass
    with build_lock(root, wait_seconds=0.3):  # released
        pass



def test_disk_full_while_writing_keeps_the_old_index(
    cli: FakeCLI, args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import indexer.build

    old = live(tmp_path)

    def full_disk(tmp: Path, *rest: object) -> None:
        (tmp / "chunks.jsonl").write_text("partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(indexer.build, "_write_build", full_disk)
    done = cli("index", "--full", *args)
    assert_clean_error(done, EXIT_INDEX, "No space left on device", "the previous index is kept",
                       case="index: disk full while writing")
    Path(args[1], "cache.md").write_text("# Cache\n- changed\n")  # stale: ask tries to refresh, fails the same
    done = cli("ask", *args, "S3 durability")  # and answers from the old index, saying why
    assert_ok(done, "could not be refreshed (No space left on device); answering from the previous index",
              case="ask: notes changed, disk full")
    assert "storage.md" in done.out
    assert live(tmp_path) == old and not list((tmp_path / "index").glob("tmp-*"))
    load_index(tmp_path / "index")
