"""The edges of a ``notes-qa`` process: Ctrl+C at any phase, broken standard streams, endless input.

Each case runs the real process entry (``notes_qa_cli.main``) in a helper process
with the fake model (``tests.reliability_support cli``); Ctrl+C is sent when the
helper reports the phase it was told to stop at (``tests.checkpoints``).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest

from .checkpoints import PHASE_TIMEOUT, ROOT, Helper
from .conftest import SMALL_NOTES, write_notes
from .reliability_support import Outcome, assert_clean_error, record

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """``--corpus`` and ``--index`` of a small index built by the helper (the fake model)."""
    root = tmp_path_factory.mktemp("edges")
    paths = ["--corpus", str(write_notes(root / "notes", SMALL_NOTES)), "--index", str(root / "index")]
    code, _, err = Helper("cli", "--", "index", *paths).finish()
    assert code == 0, err
    return paths


def cli(args: list[str], preexec: Callable[[], None] | None = None, **popen: Any) -> Outcome:
    """Run ``notes-qa ARGS`` (the fake model) to the end."""
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    done = subprocess.run(
        [sys.executable, "-m", "tests.reliability_support", "cli", "--", *args],
        cwd=ROOT, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)), preexec_fn=preexec, timeout=PHASE_TIMEOUT,
        **popen,
    )
    return Outcome(done.returncode, done.stdout or "", done.stderr or "")


# --------------------------------------------------------------------------- F4: the app without a terminal


@pytest.mark.parametrize(("case", "stdin", "text"), [("tui < /dev/null", subprocess.DEVNULL, None),
                                                      ("echo | tui", None, "\n")])
def test_the_app_without_a_terminal_is_refused(tmp_path: Path, case: str, stdin: Any, text: str | None) -> None:
    where = ["--corpus", str(tmp_path / "notes"), "--index", str(tmp_path / "index")]
    done = cli(["tui", *where], stdin=stdin, input=text)
    assert_clean_error(done, 2, "notes-qa tui needs a terminal (stdin is not one)", case=f"tui: {case}")
    assert not (tmp_path / "index").exists()  # refused before anything started


# --------------------------------------------------------------------------- F7: Ctrl+C at any phase


@pytest.mark.parametrize(
    ("phase", "message"),
    [
        # Loading the commands, before main() of notes_qa_cli/main.py exists.
        ("import notes_qa_cli.main", "notes-qa: interrupted"),
        ("parse", "notes-qa: interrupted"),
        # The query model loads: onnxruntime turns this Ctrl+C into ImportError (see reliability_support).
        ("load model", "notes-qa: interrupted; the previous index is kept"),
        # The answer is printed; Python is shutting down.
        ("exit", "notes-qa: interrupted"),
    ],
)
def test_ctrl_c_at_any_phase_is_one_line_and_exit_130(workspace: list[str], phase: str, message: str) -> None:
    helper = Helper("cli", "--", "ask", *workspace, "S3 durability", pause_at=phase)
    try:
        helper.paused()
        helper.signal(signal.SIGINT)
    finally:
        code, out, err = helper.finish()
    record(f"Ctrl+C at phase {phase!r}", Outcome(code, out, err))
    assert "Traceback" not in err, err
    assert (code, err.strip().splitlines()) == (130, [message]), (code, err)


@pytest.mark.model
@pytest.mark.parametrize("phase", ["import onnxruntime", "import onnxruntime.capi.onnxruntime_pybind11_state"])
def test_ctrl_c_while_the_real_model_loads(tmp_path: Path, model_cache: Path, phase: str) -> None:
    paths = ["--corpus", str(write_notes(tmp_path / "notes", SMALL_NOTES)), "--index", str(tmp_path / "index")]
    env = {"NOTES_QA_CACHE": str(model_cache), "HF_HUB_OFFLINE": "1"}
    code, _, err = Helper("cli", "--real-model", "--", "index", *paths, env=env).finish()
    assert code == 0, err
    helper = Helper("cli", "--real-model", "--", "ask", *paths, "S3 durability", pause_at=phase, env=env)
    try:
        helper.paused()
        helper.signal(signal.SIGINT)
    finally:
        code, out, err = helper.finish()
    record(f"Ctrl+C at {phase} (real model)", Outcome(code, out, err))
    assert (code, err.strip().splitlines()) == (130, ["notes-qa: interrupted; the previous index is kept"]), err


# --------------------------------------------------------------------------- F8: standard streams


@pytest.mark.parametrize("command", ["ask", "index", "--help"])
def test_output_to_a_full_disk_is_one_line(workspace: list[str], command: str) -> None:
    args = {"ask": ["ask", *workspace, "S3 durability"], "index": ["index", *workspace], "--help": ["--help"]}[command]
    with open("/dev/full", "w") as full:
        done = cli(args, stdout=full)
    assert_clean_error(done, 1, "cannot write the output (No space left on device)",
                       case=f"output: {command} to a full disk")


def test_batch_output_to_a_full_disk_stops_at_once(workspace: list[str], tmp_path: Path) -> None:
    batch = tmp_path / "q.txt"
    batch.write_text("S3 durability\n" * 2000)  # far more than a pipe or stdio buffer holds
    with open("/dev/full", "w") as full:
        done = cli(["ask", *workspace, "--batch", str(batch)], stdout=full)
    assert_clean_error(done, 1, "cannot write the output (No space left on device)", case="output: batch to a full disk")


def test_stdout_closed_at_start_is_one_line() -> None:
    done = cli(["ask", "S3 durability"], preexec=lambda: os.close(1), stdout=None)
    assert_clean_error(done, 1, "cannot write the output (stdout is closed)", case="output: stdout closed (>&-)")


def test_with_stderr_closed_the_exit_code_tells(workspace: list[str]) -> None:
    ok = cli(["ask", *workspace, "-k", "1", "S3 durability"], preexec=lambda: os.close(2), stderr=None)
    assert ok.code == 0 and "Storage > S3" in ok.out
    bad = cli(["ask", *workspace, "-k", "0", "x"], preexec=lambda: os.close(2), stderr=None)
    assert bad.code == 2 and bad.out == ""  # the message is lost, not printed on stdout
    empty = cli(["ask", *workspace, "   "], preexec=lambda: os.close(2), stderr=None)
    assert empty.code == 2 and empty.out == ""


def test_a_reader_that_goes_away_ends_the_batch_quietly(workspace: list[str], tmp_path: Path) -> None:
    batch = tmp_path / "q.txt"
    batch.write_text("S3 durability\n" * 2000)
    helper = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability_support", "cli", "--", "ask", *workspace, "--batch", str(batch)],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert helper.stdout is not None and helper.stderr is not None
    assert helper.stdout.readline().startswith(b"Q: S3 durability")
    helper.stdout.close()  # as `| head -1` does
    err = helper.stderr.read().decode()
    assert helper.wait(timeout=PHASE_TIMEOUT) == 0 and err == "", err


# --------------------------------------------------------------------------- F9: endless batch input


@pytest.mark.parametrize("how", ["file", "stdin"])
def test_a_device_as_batch_is_refused_before_any_index_work(tmp_path: Path, how: str) -> None:
    where = ["--corpus", str(tmp_path / "none"), "--index", str(tmp_path / "none"), "--no-build"]
    if how == "file":
        done = cli(["ask", *where, "--batch", "/dev/zero"])
    else:
        with open("/dev/zero", "rb") as zero:
            done = cli(["ask", *where, "--batch", "-"], stdin=zero)
    assert_clean_error(done, 2, "is a device, not a file of questions", case=f"batch: /dev/zero as {how}")


def test_a_line_that_never_ends_is_refused(workspace: list[str]) -> None:
    helper = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability_support", "cli", "--", "ask", *workspace, "--batch", "-"],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    assert helper.stdin is not None
    writer = threading.Thread(target=_write_forever, args=(helper.stdin, "x" * 4096), daemon=True)
    writer.start()
    # Not communicate(): it would close stdin at once, and the line would end early.
    helper.wait(timeout=PHASE_TIMEOUT)
    assert helper.stdout is not None and helper.stderr is not None
    out, err = helper.stdout.read(), helper.stderr.read()
    assert_clean_error(Outcome(helper.returncode, out, err), 2, "stdin line 1 is longer than 64 KiB",
                       case="batch: endless line on stdin")


def test_endless_questions_stream_answers_with_bounded_memory_until_ctrl_c(workspace: list[str]) -> None:
    """``yes 'S3 durability' | notes-qa ask --batch -``: answers come while the input never ends."""
    helper = Helper("cli", "--", "ask", *workspace, "--json", "-k", "1", "--batch", "-",
                    stdin=subprocess.PIPE)
    stdin, stdout = helper.process.stdin, helper.process.stdout
    assert stdin is not None and stdout is not None
    threading.Thread(target=_write_forever, args=(stdin, "S3 durability\n"), daemon=True).start()
    lines = _Lines(stdout)
    try:
        rss = []
        for count in range(1, 1501):
            line = lines.next()
            assert json.loads(line)["question"] == "S3 durability"
            if count in (300, 1500):
                rss.append(_rss_kib(helper.pid))
        helper.signal(signal.SIGINT)
    finally:
        code, _, err = helper.finish()
    assert code == 130 and err.strip().splitlines() == ["notes-qa: interrupted; the previous index is kept"], err
    assert rss[1] - rss[0] < 50_000, rss  # KiB: 1,200 more answers, no growth with the input


def _write_forever(stream: IO[str], text: str) -> None:
    try:
        while True:
            stream.write(text)
            stream.flush()
    except (BrokenPipeError, ValueError, OSError):
        pass  # the helper ended


class _Lines:
    """The lines a helper prints, read by a thread, so a test can wait for the next with a deadline."""

    def __init__(self, stream: IO[str]) -> None:
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put("")

    def next(self, timeout: float = PHASE_TIMEOUT) -> str:
        """The next line; fails only if none comes within the (generous) timeout."""
        try:
            line = self._queue.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no answer within {timeout:.0f} s: the batch is not streamed") from None
        assert line, "the helper ended"
        return line


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")
