"""The command line, end to end, with the real bundled model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT
from .reliability_support import assert_error_lines

pytestmark = pytest.mark.model


def run(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "notes_qa_cli", *args], capture_output=True, text=True, env=env, input=stdin, timeout=600
    )


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("cli")
    shutil.copytree(ROOT / "corpus", root / "corpus")
    env = dict(os.environ, NOTES_QA_CORPUS=str(root / "corpus"), NOTES_QA_INDEX=str(root / "index"),
               NOTES_QA_CACHE=str(model_cache), HF_HUB_OFFLINE="1")
    done = run(["index"], env)
    assert done.returncode == 0, done.stderr
    assert "indexed 5 files" in done.stdout
    return root, env


def test_ask_json_finds_the_dynamodb_item_limit(workspace: tuple[Path, dict[str, str]]) -> None:
    _, env = workspace
    done = run(["ask", "--json", "How big can a DynamoDB item be?"], env)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["query"] == "How big can a DynamoDB item be?"
    top3 = payload["results"][:3]
    assert any("Maximum size of an item is 400KB" in r["text"] for r in top3)
    first = payload["results"][0]
    assert set(first) >= {"rank", "score", "path", "heading", "start_line", "end_line", "text", "snippet", "highlights"}
    assert len(first["snippet"]) <= 400
    assert "torch" not in done.stderr


def test_ask_for_people_prints_rank_heading_path_and_snippet(workspace: tuple[Path, dict[str, str]]) -> None:
    _, env = workspace
    done = run(["ask", "-k", "2", "S3 durability"], env)
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("1. Storage > S3") and "storage.md:" in first
    assert "99.999999999%" in done.stdout


def test_batch_answers_in_order(workspace: tuple[Path, dict[str, str]]) -> None:
    root, env = workspace
    batch = root / "batch.jsonl"
    batch.write_text('{"question": "Kinesis retention period"}\nWhat is DAX?\n\n')
    done = run(["ask", "--json", "-k", "1", "--batch", str(batch)], env)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(x) for x in done.stdout.splitlines()]
    assert [x["question"] for x in lines] == ["Kinesis retention period", "What is DAX?"]
    done = run(["ask", "--json", "-k", "1", "--batch", "-"], env, stdin="S3 durability\n")
    assert json.loads(done.stdout)["question"] == "S3 durability"


def test_ask_refreshes_a_stale_index(workspace: tuple[Path, dict[str, str]]) -> None:
    root, env = workspace
    note = root / "corpus" / "zz-extra.md"
    note.write_text("# Extra\n## Quokka\n- The quokka service stores marsupial photos for 7 days\n")
    try:
        done = run(["ask", "--json", "-k", "1", "how long are marsupial photos kept?"], env)
        assert done.returncode == 0, done.stderr
        assert "built the index first" in done.stderr
        assert "quokka" in json.loads(done.stdout)["results"][0]["text"]
    finally:
        note.unlink()


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["ask", "-k", "0", "x"], 2, "at least 1"),
        (["ask", "--mode", "fuzzy", "x"], 2, "invalid choice"),
        (["ask", "   "], 2, "question is empty"),
        (["ask"], 2, "give a question"),
        (["ask", "--batch", "/nonexistent/q.txt"], 2, "cannot read the batch file"),
        (["ask", "--corpus", "/nonexistent/notes", "--index", "/nonexistent/idx", "x"], 3, "does not exist"),
        (["index", "--model", "/tmp", "--index", "/nonexistent/idx2"], 5, "not a sentence-transformers model"),
        (["eval"], 2, "questions file"),
    ],
)
def test_bad_input_is_one_line_and_an_exit_code(
    workspace: tuple[Path, dict[str, str]], args: list[str], code: int, needle: str
) -> None:
    _, env = workspace
    done = run(args, env)
    assert done.returncode == code, (done.returncode, done.stderr)
    assert needle in done.stderr
    assert "Traceback" not in done.stderr
    assert_error_lines(done.stderr.strip().splitlines())


def test_batch_with_a_bad_line_names_it(workspace: tuple[Path, dict[str, str]]) -> None:
    root, env = workspace
    batch = root / "bad.jsonl"
    batch.write_text('{"question": "ok"}\n{"question": \n')
    done = run(["ask", "--batch", str(batch)], env)
    assert done.returncode == 2 and "line 2" in done.stderr and "Traceback" not in done.stderr


def test_a_question_never_loads_torch_or_sentence_transformers(workspace: tuple[Path, dict[str, str]]) -> None:
    _, env = workspace
    assert run(["index"], env).returncode == 0  # fresh: this ask only answers (a rebuild may use more)
    probe = (
        "import json, sys\n"
        "from notes_qa_cli.main import main\n"
        "try:\n"
        "    code = main(['ask', '--json', '-k', '1', 'How big can a DynamoDB item be?'])\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'sentence_transformers', 'bm25s', 'textual')"
        " if m in sys.modules)\n"
        "print(json.dumps({'code': code, 'heavy': heavy, 'onnx': 'onnxruntime' in sys.modules}), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=600)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report == {"code": 0, "heavy": [], "onnx": True}, done.stderr
    assert "400KB" in done.stdout


def test_ask_says_how_well_the_notes_match(workspace: tuple[Path, dict[str, str]]) -> None:
    _, env = workspace
    done = run(["ask", "--json", "-k", "3", "How big can a DynamoDB item be?"], env)
    payload = json.loads(done.stdout)
    assert payload["match"] == "good"
    first = payload["results"][0]
    lines = first["snippet"].split("\n")
    assert first["snippet_start_line"] <= first["answer_line"] <= first["snippet_end_line"]
    answer = (ROOT / "corpus" / "database.md").read_text(encoding="utf-8").split("\n")[first["answer_line"] - 1]
    assert answer.strip() in lines and "400KB" in answer
    off = run(["ask", "-k", "3", "How do I bake sourdough bread?"], env)
    assert off.returncode == 0 and off.stdout.startswith("No good match in your notes")
    assert "1. " in off.stdout  # the nearest passages still follow
    off_json = json.loads(run(["ask", "--json", "How do I bake sourdough bread?"], env).stdout)
    assert off_json["match"] == "none" and off_json["results"]
