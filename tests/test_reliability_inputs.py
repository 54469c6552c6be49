"""Bad input gets a clean error: corpus, queries and evaluation files.

Every case runs ``notes-qa`` in-process (``notes_qa_cli.main.main``) with the fake
model and checks: the documented exit code, one line on stderr naming the
problem and the fix, no traceback; a strange note is skipped (or read) with a
warning instead of stopping the build.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from indexer.corpus import read_corpus
from indexer.errors import EXIT_CORPUS, EXIT_EVAL, EXIT_USAGE
from indexer.index_files import load_index

from .conftest import SMALL_NOTES, write_notes
from .reliability_support import FakeCLI, assert_clean_error, assert_ok


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> FakeCLI:
    return FakeCLI(monkeypatch, capsys, tmp_path)


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    return write_notes(tmp_path / "notes", SMALL_NOTES)


def index_args(corpus: Path, tmp_path: Path) -> list[str]:
    return ["--corpus", str(corpus), "--index", str(tmp_path / "index")]


def indexed_text(tmp_path: Path) -> str:
    return "\n".join(c.text for c in load_index(tmp_path / "index").chunks)


# --------------------------------------------------------------------------- corpus


def test_missing_corpus_folder(cli: FakeCLI, tmp_path: Path) -> None:
    done = cli("index", *index_args(tmp_path / "nowhere", tmp_path))
    assert_clean_error(done, EXIT_CORPUS, "does not exist", "--corpus", case="corpus: missing folder")


def test_corpus_that_is_a_file(cli: FakeCLI, tmp_path: Path) -> None:
    (tmp_path / "file.md").write_text("# x\n")
    done = cli("index", *index_args(tmp_path / "file.md", tmp_path))
    assert_clean_error(done, EXIT_CORPUS, "is not a folder", case="corpus: a file, not a folder")


def test_empty_corpus_folder(cli: FakeCLI, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    done = cli("index", *index_args(tmp_path / "empty", tmp_path))
    assert_clean_error(done, EXIT_CORPUS, "no readable notes", "add some", case="corpus: empty folder")


def test_corpus_of_only_non_markdown_files(cli: FakeCLI, tmp_path: Path) -> None:
    folder = tmp_path / "other"
    folder.mkdir()
    (folder / "slides.pdf").write_bytes(b"%PDF-1.4 ...")
    (folder / "script.py").write_text("print('hi')\n")
    (folder / ".hidden.md").write_text("# hidden\n")
    done = cli("index", *index_args(folder, tmp_path))
    assert_clean_error(done, EXIT_CORPUS, "no readable notes (.md, .markdown, .txt)", case="corpus: only non-Markdown files")


def test_binary_file_named_md_is_skipped(cli: FakeCLI, tmp_path: Path, notes: Path) -> None:
    (notes / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 50)
    done = cli("index", *index_args(notes, tmp_path))
    assert_ok(done, "image.md: looks binary (NUL bytes); skipped", case="corpus: binary file named .md (+ good notes)")
    assert "indexed 3 files" in done.out


def test_only_a_binary_md_is_an_error_naming_it(cli: FakeCLI, tmp_path: Path) -> None:
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "x.md").write_bytes(b"\x00\x01\x02" * 100)
    done = cli("index", *index_args(folder, tmp_path))
    assert_clean_error(done, EXIT_CORPUS, "x.md: looks binary", case="corpus: only a binary .md")


def test_non_utf8_note_is_read_with_a_warning(cli: FakeCLI, tmp_path: Path, notes: Path) -> None:
    (notes / "latin1.md").write_bytes("# Café\n\n- naïve Zürich résumé\n".encode("latin-1"))
    done = cli("index", *index_args(notes, tmp_path))
    assert_ok(done, "latin1.md: not valid UTF-8", case="corpus: non-UTF-8 note")
    assert "Z\ufffdrich" in indexed_text(tmp_path)


def test_50_mb_note_is_skipped_without_reading_it(
    cli: FakeCLI, tmp_path: Path, notes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = notes / "huge.md"
    with big.open("wb") as handle:  # sparse: 50 MB on paper, nothing on disk
        handle.truncate(50_000_000)
    opened: list[str] = []
    real_open = os.open

    def spy(path: os.PathLike[str] | str, *args: object, **kwargs: object) -> int:
        opened.append(os.fspath(path))
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("indexer.corpus.os.open", spy)
    done = cli("index", *index_args(notes, tmp_path))
    assert_ok(done, "huge.md: 50.0 MB is over the 10 MB limit; skipped", case="corpus: 50 MB note")
    assert not any(p.endswith("huge.md") for p in opened)


def test_note_growing_past_the_limit_while_read_is_cut_off(tmp_path: Path) -> None:
    folder = write_notes(tmp_path / "n", {"a.md": "# A\n- ok\n", "b.md": "x " * 1000})
    corpus = read_corpus(folder, max_file_bytes=100)
    assert [n.rel for n in corpus.notes] == ["a.md"]
    assert any("b.md" in w and "over the" in w for w in corpus.warnings)


def test_10000_line_section_without_headings(cli: FakeCLI, tmp_path: Path) -> None:
    folder = write_notes(tmp_path / "n", {"log.md": "\n".join(f"entry {i} about topic{i % 97}" for i in range(10_000))})
    done = cli("index", *index_args(folder, tmp_path))
    assert_ok(done, case="corpus: 10,000-line section, no headings")
    text = indexed_text(tmp_path)
    assert "entry 0 " in text and "entry 9999 " in text


def test_headings_only(cli: FakeCLI, tmp_path: Path) -> None:
    folder = write_notes(tmp_path / "n", {"h.md": "\n".join(f"{'#' * (i % 6 + 1)} Heading {i}" for i in range(300))})
    done = cli("index", *index_args(folder, tmp_path))
    assert_ok(done, case="corpus: headings only")
    assert "Heading 299" in indexed_text(tmp_path)


def test_60_levels_of_nested_list(cli: FakeCLI, tmp_path: Path) -> None:
    nested = "# Deep\n\n" + "\n".join("  " * i + f"- level{i} item" for i in range(60))
    folder = write_notes(tmp_path / "n", {"deep.md": nested})
    done = cli("index", *index_args(folder, tmp_path))
    assert_ok(done, case="corpus: 60 levels of nested list")
    text = indexed_text(tmp_path)
    assert all(f"level{i} item" in text for i in range(60))


def test_table_without_header_row(cli: FakeCLI, tmp_path: Path) -> None:
    table = "# T\n\n| a1 | b1 |\n| a2 | b2 |\n| a3 | b3 |\n\n|---|---|\n| orphan | delimiter |\n"
    folder = write_notes(tmp_path / "n", {"t.md": table})
    done = cli("index", *index_args(folder, tmp_path))
    assert_ok(done, case="corpus: table without header row")
    text = indexed_text(tmp_path)
    assert all(cell in text for cell in ("a1", "b3", "orphan"))


def test_symlink_loops(cli: FakeCLI, tmp_path: Path, notes: Path) -> None:
    (notes / "loop.md").symlink_to(notes / "loop.md")  # a file link to itself
    (notes / "sub").mkdir()
    (notes / "sub" / "up").symlink_to(notes)  # a folder link to an ancestor
    (notes / "dangling.md").symlink_to(tmp_path / "gone.md")
    done = cli("index", *index_args(notes, tmp_path))
    assert_ok(done, "loop.md: a link that loops; skipped", "dangling.md: a broken link", case="corpus: symlink loop")
    assert "indexed 3 files" in done.out  # each note once, the folder loop walked once


def test_fifo_and_folder_named_md(cli: FakeCLI, tmp_path: Path, notes: Path) -> None:
    os.mkfifo(notes / "pipe.md")  # opening it for reading would block forever
    (notes / "folder.md").mkdir()
    (notes / "folder.md" / "inside.md").write_text("# Inside\n- the kinesis retention is 24 hours\n")
    done = cli("index", *index_args(notes, tmp_path))
    assert_ok(done, "pipe.md: not a regular file; skipped", case="corpus: FIFO named .md")
    assert "indexed 4 files" in done.out


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_by_mode(cli: FakeCLI, tmp_path: Path, notes: Path) -> None:
    locked = notes / "secret.md"
    locked.write_text("# Secret\n")
    locked.chmod(0)
    done = cli("index", *index_args(notes, tmp_path))
    assert_ok(done, "secret.md: cannot be read (Permission denied); skipped")


def test_unreadable_file(cli: FakeCLI, tmp_path: Path, notes: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The EACCES path, simulated (tests run as root, where chmod 000 does not stop reads)."""
    (notes / "secret.md").write_text("# Secret\n- hidden\n")
    real_open = os.open

    def deny(path: os.PathLike[str] | str, *args: object, **kwargs: object) -> int:
        if os.fspath(path).endswith("secret.md"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("indexer.corpus.os.open", deny)
    done = cli("index", *index_args(notes, tmp_path))
    assert_ok(done, "secret.md: cannot be read (Permission denied); skipped", case="corpus: unreadable file")
    assert "indexed 3 files" in done.out


def test_unreadable_subfolder(cli: FakeCLI, tmp_path: Path, notes: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (notes / "private").mkdir()
    (notes / "private" / "p.md").write_text("# P\n")
    real_scandir = os.scandir

    def deny(path: object = ".") -> object:
        if os.fspath(path).endswith("private"):  # type: ignore[call-overload]
            raise PermissionError(13, "Permission denied", os.fspath(path))  # type: ignore[call-overload]
        return real_scandir(path)  # type: ignore[call-overload]

    monkeypatch.setattr(os, "scandir", deny)
    done = cli("index", *index_args(notes, tmp_path))
    assert_ok(done, "private/: folder cannot be read (Permission denied); skipped", case="corpus: unreadable folder")


def test_file_deleted_while_indexing(cli: FakeCLI, tmp_path: Path, notes: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import indexer.corpus

    real = indexer.corpus._candidate_files

    def list_then_delete(*args: object) -> list[tuple[str, str]]:
        found = real(*args)  # type: ignore[arg-type]
        (notes / "cache.md").unlink()  # gone between listing and reading
        return found

    monkeypatch.setattr(indexer.corpus, "_candidate_files", list_then_delete)
    done = cli("index", *index_args(notes, tmp_path))
    assert_ok(done, "cache.md: disappeared while it was being read; skipped", case="corpus: file deleted while indexing")
    assert "indexed 2 files" in done.out


# --------------------------------------------------------------------------- queries


@pytest.fixture
def built(cli: FakeCLI, tmp_path: Path, notes: Path) -> list[str]:
    """An index over the small notes; returns the --corpus/--index arguments."""
    args = index_args(notes, tmp_path)
    assert cli("index", *args).code == 0
    return args


@pytest.mark.parametrize(
    ("case", "question", "needle"),
    [
        ("query: empty question", "", "the question is empty"),
        ("query: blank question", " \t\n ", "the question is empty"),
        ("query: only control characters", "\x1b\x07\x00\u202e", "the question is empty"),
    ],
)
def test_empty_questions(cli: FakeCLI, built: list[str], case: str, question: str, needle: str) -> None:
    assert_clean_error(cli("ask", *built, question), EXIT_USAGE, needle, case=case)


def test_100000_character_question(cli: FakeCLI, built: list[str]) -> None:
    done = cli("ask", *built, "--json", "-k", "3", "durable S3 " * 9_091)
    assert_ok(done, case="query: 100,000 characters")
    assert len(json.loads(done.out)["results"]) <= 3


def test_control_characters_and_escapes_in_question(cli: FakeCLI, built: list[str]) -> None:
    done = cli("ask", *built, "\x1b[31mS3\x1b[0m durable\x07 \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ \u202eevil\x9b")
    assert_ok(done, case="query: control characters and escape sequences")
    assert not any(ch in done.out for ch in "\x1b\x07\x9b\u202e")
    assert "Storage > S3" in done.out


@pytest.mark.parametrize(
    ("case", "args", "needle"),
    [
        ("query: -k 0", ["-k", "0", "x"], "must be at least 1, got 0"),
        ("query: -k -3", ["-k", "-3", "x"], "must be at least 1, got -3"),
        ("query: -k abc", ["-k", "abc", "x"], "expected a whole number"),
        ("query: unknown --mode", ["--mode", "fuzzy", "x"], "invalid choice: 'fuzzy'"),
        ("query: no question", [], "give a question"),
        ("query: question and --batch", ["--batch", "q.txt", "x"], "not both"),
    ],
)
def test_bad_query_flags(cli: FakeCLI, built: list[str], case: str, args: list[str], needle: str) -> None:
    assert_clean_error(cli("ask", *built, *args), EXIT_USAGE, needle, case=case)


@pytest.mark.parametrize(
    ("case", "content", "needles", "answered"),
    [
        ("batch: bad JSON line", b'{"question": "ok"}\nplain question\n{"question": \n', ("line 3", "bad JSON"), 2),
        ("batch: JSON line without question", b'S3 durability\n\n{"q": "x"}\n', ("line 3", '"question"'), 1),
        ("batch: blank question line", b"S3 durability\n\x1b\x07\n", ("line 2", "the question is empty"), 1),
        ("batch: no questions", b"\n  \n", ("holds no questions",), 0),
        ("batch: not UTF-8", b"caf\xe9 question\n", ("line 1 is not UTF-8",), 0),
        ("batch: line over 64 KiB", b"S3 durability\n" + b"x" * 70_000 + b"\n", ("line 2 is longer than 64 KiB",), 1),
    ],
)
def test_bad_batch_files(
    cli: FakeCLI, built: list[str], tmp_path: Path, case: str, content: bytes, needles: tuple[str, ...], answered: int
) -> None:
    batch = tmp_path / "batch.txt"
    batch.write_bytes(content)
    done = cli("ask", *built, "--json", "--batch", str(batch))
    assert_clean_error(done, EXIT_USAGE, *needles, case=case)
    # Streamed: the lines before the bad one are answered, nothing after it.
    assert len(done.out.splitlines()) == answered, done.out


def test_missing_batch_file(cli: FakeCLI, built: list[str], tmp_path: Path) -> None:
    done = cli("ask", *built, "--batch", str(tmp_path / "nope.txt"))
    assert_clean_error(done, EXIT_USAGE, "cannot read the batch file", "check the path", case="batch: missing file")


def test_good_batch_answers_every_line(cli: FakeCLI, built: list[str], tmp_path: Path) -> None:
    batch = tmp_path / "batch.jsonl"
    batch.write_text('{"question": "Memcached threads"}\n\nS3 durability\n')
    done = cli("ask", *built, "--json", "-k", "1", "--batch", str(batch))
    assert_ok(done)
    assert [json.loads(x)["question"] for x in done.out.splitlines()] == ["Memcached threads", "S3 durability"]


# --------------------------------------------------------------------------- evaluation


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


GOOD_Q = '{"id": "q1", "question": "How big can a DynamoDB item be?", "evidence": ["400KB"]}\n'


@pytest.mark.parametrize(
    ("case", "content", "needles"),
    [
        ("eval: bad JSON line", GOOD_Q + '{"id": "q2", "question": \n', ("line 2", "bad JSON")),
        ("eval: missing question", GOOD_Q + '\n{"id": "q2", "evidence": ["x"]}\n', ("line 3", 'missing "question"')),
        ("eval: missing evidence", GOOD_Q + '{"id": "q2", "question": "x"}\n', ("line 2", '"evidence" must be')),
        ("eval: missing id", '{"question": "x", "evidence": ["y"]}\n', ("line 1", 'missing "id"')),
        ("eval: duplicate id", GOOD_Q + GOOD_Q, ("line 2", "duplicate id")),
        ("eval: not an object", GOOD_Q + "[1, 2]\n", ("line 2", "expected a JSON object")),
        ("eval: empty file", "\n\n", ("holds no questions",)),
        ("eval: not UTF-8", b"\xff\xfe{}", ("not UTF-8",)),
    ],
)
def test_bad_question_files(
    cli: FakeCLI, built: list[str], tmp_path: Path, case: str, content: str | bytes, needles: tuple[str, ...]
) -> None:
    questions = write(tmp_path / "q.jsonl", content)
    assert_clean_error(cli("eval", str(questions), *built), EXIT_EVAL, *needles, case=case)


def test_missing_question_file(cli: FakeCLI, built: list[str], tmp_path: Path) -> None:
    done = cli("eval", str(tmp_path / "none.jsonl"), *built)
    assert_clean_error(done, EXIT_EVAL, "cannot read the questions file", case="eval: missing questions file")


def test_evidence_found_nowhere_is_a_warning(cli: FakeCLI, built: list[str], tmp_path: Path) -> None:
    extra = '{"id": "q2", "question": "What is a flux capacitor?", "evidence": ["1.21 gigawatts"]}\n'
    questions = write(tmp_path / "q.jsonl", GOOD_Q + extra)
    done = cli("eval", str(questions), *built)
    assert_ok(done, "question q2: no evidence string occurs in the notes", case="eval: evidence nowhere in corpus")
    assert "2 questions" in done.out


def beir(folder: Path, qrels: str | bytes | None, split: str = "test") -> Path:
    write(folder / "corpus.jsonl", '{"_id": "d1", "title": "DynamoDB", "text": "item max 400KB"}\n'
          '{"_id": "d2", "text": "S3 is durable storage"}\n{"_id": "d3", "text": "Redis replication"}\n')
    write(folder / "queries.jsonl", '{"_id": "q1", "text": "item size"}\n{"_id": "q2", "text": "durable storage"}\n')
    if qrels is not None:
        write(folder / "qrels" / f"{split}.tsv", qrels)
    return folder


def test_beir_folder_without_qrels(cli: FakeCLI, built: list[str], tmp_path: Path) -> None:
    done = cli("eval", "--beir", str(beir(tmp_path / "b", None)), *built)
    assert_clean_error(done, EXIT_EVAL, "has no qrels/ folder", case="eval: BEIR folder without qrels")


def test_beir_unknown_split_lists_the_known_ones(cli: FakeCLI, built: list[str], tmp_path: Path) -> None:
    folder = beir(tmp_path / "b", "q1\td1\t1\n", split="dev")
    done = cli("eval", "--beir", str(folder), *built)
    assert_clean_error(done, EXIT_EVAL, "no qrels/test.tsv", "--split with one of: dev", case="eval: BEIR unknown split")


def test_beir_missing_folder(cli: FakeCLI, built: list[str], tmp_path: Path) -> None:
    done = cli("eval", "--beir", str(tmp_path / "none"), *built)
    assert_clean_error(done, EXIT_EVAL, "does not exist", case="eval: BEIR folder missing")


def test_beir_qrels_naming_unknown_documents(cli: FakeCLI, built: list[str], tmp_path: Path) -> None:
    folder = beir(tmp_path / "b", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td404\t1\n")
    done = cli("eval", "--beir", str(folder), "--all-modes", *built)  # a dataset smaller than the fusion pool
    assert_ok(done, "1 qrels lines name documents not in corpus.jsonl; ignored", case="eval: qrels naming unknown docs")
    assert "1 queries" in done.out


def test_beir_qrels_naming_only_unknown_documents(cli: FakeCLI, built: list[str], tmp_path: Path) -> None:
    folder = beir(tmp_path / "b", "q1\td404\t1\nq2\td405\t1\n")
    done = cli("eval", "--beir", str(folder), *built)
    assert_clean_error(done, EXIT_EVAL, "no usable judgements", "2 qrels lines name documents",
                       case="eval: qrels naming only unknown docs")


@pytest.mark.parametrize(
    ("case", "qrels", "needles"),
    [
        ("eval: qrels line too short", "q1\td1\t1\nq2 d2 1\n", ("line 2", "expected query-id")),
        ("eval: qrels score not a number", "q1\td1\tinf\n", ("line 1", "is not a number")),
        ("eval: qrels not UTF-8", b"q1\td1\t1\nq2\td\xff\t1\n", ("line 2", "not UTF-8")),
    ],
)
def test_beir_bad_qrels(
    cli: FakeCLI, built: list[str], tmp_path: Path, case: str, qrels: str | bytes, needles: tuple[str, ...]
) -> None:
    done = cli("eval", "--beir", str(beir(tmp_path / "b", qrels)), *built)
    assert_clean_error(done, EXIT_EVAL, *needles, case=case)


def test_beir_bad_corpus_line(cli: FakeCLI, built: list[str], tmp_path: Path) -> None:
    folder = beir(tmp_path / "b", "q1\td1\t1\n")
    write(folder / "corpus.jsonl", '{"_id": "d1", "text": "x"}\n{"text": "no id"}\n')
    done = cli("eval", "--beir", str(folder), *built)
    assert_clean_error(done, EXIT_EVAL, "corpus.jsonl line 2", '"_id"', case="eval: BEIR document without _id")


def test_beir_index_goes_where_index_says(cli: FakeCLI, tmp_path: Path) -> None:
    folder = beir(tmp_path / "b", "q1\td1\t1\nq2\td2\t1\n")
    target = tmp_path / "beir-index"
    done = cli("eval", "--beir", str(folder), "--index", str(target))
    assert done.code == 0, done.err
    (vectors,) = target.rglob("vectors.npy")
    assert (vectors.parent / "manifest.json").is_file()
    vectors.write_bytes(vectors.read_bytes()[:-4])  # damaged: built again, with a warning
    done = cli("eval", "--beir", str(folder), "--index", str(target))
    assert done.code == 0 and "vectors.npy does not match its checksum); building it again" in done.err, done.err
