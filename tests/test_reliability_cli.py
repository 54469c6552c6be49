"""Bad input and hostile notes through the real ``notes-qa`` process and model.

Where realism matters: a separate process, the bundled model, the real exit
code, exactly one line on stderr and no "Traceback".
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, SMALL_NOTES, write_notes
from .reliability_support import Outcome, assert_error_lines, record
from .test_reliability_hostile import HOSTILE_NAME, HOSTILE_NOTE, is_harmless

pytestmark = pytest.mark.model


def run(args: list[str], env: dict[str, str]) -> Outcome:
    done = subprocess.run(
        [sys.executable, "-m", "notes_qa_cli", *args], capture_output=True, text=True, env=env, timeout=600
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("reliability-cli")
    write_notes(root / "notes", {**SMALL_NOTES, HOSTILE_NAME: HOSTILE_NOTE})
    env = dict(os.environ, NOTES_QA_CORPUS=str(root / "notes"), NOTES_QA_INDEX=str(root / "index"),
               NOTES_QA_CACHE=str(model_cache), HF_HUB_OFFLINE="1")
    done = run(["index"], env)
    assert done.code == 0, done.err
    return root, env


def test_hostile_note_through_the_real_cli(workspace: tuple[Path, dict[str, str]]) -> None:
    _, env = workspace
    human = run(["ask", "-k", "5", "hostile ansi escape sequences bell and bidi"], env)
    assert human.code == 0 and "Traceback" not in human.err, human.err
    assert "hostile" in human.out and "[bold]Markup[/bold]" in human.out
    assert is_harmless(human.out), [ch for ch in human.out if not is_harmless(ch)]
    record("hostile note text: real model, human output", human)
    as_json = run(["ask", "--json", "-k", "5", "hostile ansi escape sequences bell and bidi"], env)
    assert as_json.code == 0 and as_json.out.isascii()
    assert any("\x1b[2J" in r["text"] for r in json.loads(as_json.out)["results"])


@pytest.mark.parametrize(
    ("case", "args", "code", "needle"),
    [
        ("real: blank question", ["ask", "  \x1b "], 2, "the question is empty"),
        ("real: -k -1", ["ask", "-k", "-1", "x"], 2, "must be at least 1"),
        ("real: unknown --mode", ["ask", "--mode", "semantic", "x"], 2, "invalid choice"),
        ("real: missing corpus", ["index", "--corpus", "/nonexistent/notes"], 3, "does not exist"),
        ("real: --model is not a model", ["index", "--model", "/etc"], 5, "not a sentence-transformers model"),
        ("real: missing index", ["ask", "--no-build", "--index", "/nonexistent/index", "x"], 4, "no index at"),
        ("real: bad eval file", ["eval", "{questions}"], 6, "line 2: bad JSON"),
    ],
)
def test_bad_input_gets_one_clean_line(
    workspace: tuple[Path, dict[str, str]], case: str, args: list[str], code: int, needle: str
) -> None:
    root, env = workspace
    questions = root / "questions.jsonl"
    questions.write_text('{"id": 1, "question": "x", "evidence": ["y"]}\n{"id": 2,\n')
    done = run([a.replace("{questions}", str(questions)) for a in args], env)
    record(case, done)
    assert done.code == code, (done.code, done.err)
    assert "Traceback" not in done.err
    assert_error_lines(done.err_lines)
    assert needle in done.err


def test_damaged_index_refused_then_rebuilt_saying_so(workspace: tuple[Path, dict[str, str]]) -> None:
    root, env = workspace
    copy = root / "damaged-index"
    shutil.copytree(root / "index", copy, symlinks=True)
    vectors = copy / "current" / "vectors.faiss"
    vectors.write_bytes(vectors.read_bytes()[:100])
    env = dict(env, NOTES_QA_INDEX=str(copy))
    refused = run(["ask", "--no-build", "S3 durability"], env)
    record("real: truncated vectors.faiss (ask --no-build)", refused)
    assert refused.code == 4 and "Traceback" not in refused.err
    assert refused.err_lines[1:] == ["notes-qa: rebuild with: notes-qa index --full"], refused.err  # the fix, apart
    rebuilt = run(["ask", "S3 durability"], env)
    record("real: truncated vectors.faiss (ask rebuilds)", rebuilt)
    assert rebuilt.code == 0, rebuilt.err
    assert "vectors.faiss is 100 bytes, the manifest says" in rebuilt.err and "rebuilt the index" in rebuilt.err
    assert "99.999999999%" in rebuilt.out


def test_index_built_with_another_model(workspace: tuple[Path, dict[str, str]]) -> None:
    root, env = workspace
    other = root / "fake-model-index"
    built = subprocess.run(
        [sys.executable, "-m", "tests.reliability_support", "build", str(root / "notes"), str(other)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=dict(env, PYTHONPATH=str(ROOT)),
    )
    assert built.returncode == 0, built.stderr
    done = run(["ask", "--no-build", "--index", str(other), "S3 durability"], env)
    record("real: index built with another model", done)
    assert done.code == 5 and "Traceback" not in done.err
    assert_error_lines(done.err_lines)
    assert "built with model fake@" in done.err and "rebuild with: notes-qa index --full" in done.err

