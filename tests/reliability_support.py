"""Run the CLI and builds with the fake model, in-process or as a subprocess.

In-process tests call :func:`use_fake_model` with pytest's ``monkeypatch``.
Subprocess tests (killing or interrupting a build) run this file as a script,
through :class:`tests.checkpoints.Helper`, which aims at phases the process reports::

    python -m tests.reliability_support build CORPUS INDEX [--full] [--pause-at PHASE] ...
    python -m tests.reliability_support cli [--pause-at PHASE] ... -- index --corpus ...

The fake embedder is registered as the embedder backend builds use (and the one
indexes built by it name); the fake model and token counter are swapped in by
patching module attributes. Both happen in the test process only: production code
has no switch (flag or variable) for them.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from indexer.embedder import Embedder, EmbedderChoice
from indexer.embedder_factory import register_backend
from indexer.model_files import ModelInfo

from . import checkpoints
from .checkpoints import checkpoint
from .fakes import FakeBackend, FakeEmbedder, WordCounter

FAKE_FINGERPRINT = "f" * 64


def fake_model_info(folder: Path, dim: int = 64, fingerprint: str = FAKE_FINGERPRINT) -> ModelInfo:
    return ModelInfo(folder, "fake", fingerprint, dim, 256, folder / "tokenizer.json")


class ReportingFakeEmbedder(FakeEmbedder):
    """The fake embedder, reporting each batch as the phase ``embed`` (see ``tests.checkpoints``)."""

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        checkpoint("embed")
        return super()._encode(texts)


class ReportingFakeBackend(FakeBackend):
    """Builds get the reporting fake; questions get it after the phase ``load model``.

    A Ctrl+C there ends as ``ImportError: initialization failed``: what onnxruntime's
    C extension raises when Ctrl+C lands while it initialises (seen in F7).
    """

    def __init__(self) -> None:
        super().__init__(ReportingFakeEmbedder)

    def for_index(
        self, choice: EmbedderChoice, model: ModelInfo, cache_dir: Path, *, spin: bool
    ) -> tuple[Embedder, tuple[str, ...]]:
        try:
            checkpoint("load model")
        except KeyboardInterrupt as exc:
            raise ImportError("initialization failed") from exc
        return super().for_index(choice, model, cache_dir, spin=spin)


def use_fake_model(setattr: Any, model: ModelInfo) -> None:
    """Make ``notes-qa`` use ``model`` and the fake embedder and token counter.

    ``setattr`` is ``monkeypatch.setattr`` in tests (undone after each test),
    or the builtin ``setattr`` in a throw-away subprocess. ``--model DIR`` still
    goes through the real model check, so "not a model" errors stay real.
    The fake backend is registered for builds and for the indexes they make
    (``tests/conftest.py`` restores the built-in backends after each test); the
    real ``query_embedder`` runs, model checks included.
    """
    import indexer.build
    import indexer.embedder_factory
    import indexer.model_files

    real_resolve = indexer.model_files.resolve_model

    def resolve(model_dir: Path | None) -> ModelInfo:
        return model if model_dir is None else real_resolve(model_dir)

    setattr(indexer.model_files, "resolve_model", resolve)
    setattr(indexer.build, "resolve_model", resolve)
    setattr(indexer.embedder_factory, "resolve_model", resolve)
    setattr(indexer.build, "HFTokenCounter", lambda _path: WordCounter())
    register_backend("fake", ReportingFakeBackend(), for_builds=True)


@dataclass(frozen=True)
class Outcome:
    """What one ``notes-qa`` run printed and returned."""

    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.strip().splitlines()

    def warnings(self) -> list[str]:
        return [line for line in self.err_lines if line.startswith("notes-qa: warning: ")]


class FakeCLI:
    """Runs ``notes_qa_cli.main.main`` in-process with the fake model; see ``use_fake_model``."""

    def __init__(self, monkeypatch: Any, capsys: Any, root: Path) -> None:
        self.capsys = capsys
        self.root = root
        self.model = fake_model_info(root / "fake-model")
        use_fake_model(monkeypatch.setattr, self.model)
        monkeypatch.setenv("NOTES_QA_CACHE", str(root / "cache"))
        for name in ("NOTES_QA_CORPUS", "NOTES_QA_INDEX", "NOTES_QA_MODEL"):
            monkeypatch.delenv(name, raising=False)

    def __call__(self, *argv: str) -> Outcome:
        from notes_qa_cli.main import main

        self.capsys.readouterr()
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse errors
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = self.capsys.readouterr()
        return Outcome(code, out, err)


def record(case: str, outcome: Outcome) -> None:
    """Append a case to the JSONL file named by NOTES_QA_CASE_TABLE (to print the table of cases)."""
    target = os.environ.get("NOTES_QA_CASE_TABLE")
    if target:
        lines = outcome.err_lines
        message = next((x for x in lines if x.startswith("notes-qa: error:")), None) or (lines[0] if lines else "")
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"case": case, "code": outcome.code, "message": message}) + "\n")


def assert_error_lines(lines: list[str]) -> None:
    """stderr of a failed run: the error line, then at most the fix on a line of its own."""
    assert 1 <= len(lines) <= 2 and lines[0].startswith("notes-qa: error: "), lines
    if len(lines) == 2:
        assert lines[1].startswith("notes-qa: ") and "error:" not in lines[1], lines


def assert_clean_error(outcome: Outcome, code: int, *needles: str, case: str = "") -> None:
    """The error line on stderr naming the problem (and at most its fix, on a line of its own),
    the documented exit code, no traceback. ``needles`` may be in either line."""
    record(case or " ".join(needles), outcome)
    assert "Traceback" not in outcome.err, outcome.err
    assert outcome.code == code, (outcome.code, outcome.err)
    assert_error_lines(outcome.err_lines)
    text = "\n".join(outcome.err_lines)
    for needle in needles:
        assert needle in text, (needle, text)
    assert all(ch.isprintable() for line in outcome.err_lines for ch in line), outcome.err


def assert_ok(outcome: Outcome, *warnings: str, case: str = "") -> None:
    """Exit 0, no error, no traceback, and each of ``warnings`` in some warning line."""
    record(case or "ok", outcome)
    assert "Traceback" not in outcome.err, outcome.err
    assert outcome.code == 0, (outcome.code, outcome.err)
    assert all(line.startswith("notes-qa: warning: ") for line in outcome.err_lines), outcome.err
    for needle in warnings:
        assert any(needle in line for line in outcome.warnings()), (needle, outcome.err)


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="reliability_support")
    parser.add_argument("command", choices=("build", "cli"))
    parser.add_argument("rest", nargs="*")
    parser.add_argument("--model-dir", type=Path, default=Path("/nonexistent-fake-model"))
    parser.add_argument("--full", action="store_true", help="build: embed everything again")
    parser.add_argument("--pause-at", help="wait at this phase (PHASE or PHASE#N) until told to go on")
    parser.add_argument("--ready-fd", type=int, help="report phases on this descriptor")
    parser.add_argument("--go-fd", type=int, help="read a byte from this descriptor to go on after the pause")
    parser.add_argument("--trace", action="store_true", help="report every phase, never pause")
    parser.add_argument("--real-model", action="store_true", help="cli: the bundled model, not the fakes")
    cli_args: list[str] = []
    if "--" in argv:  # everything after -- goes to notes-qa
        at = argv.index("--")
        argv, cli_args = argv[:at], argv[at + 1 :]
    args = parser.parse_args(argv)
    checkpoints.configure(args.pause_at, args.ready_fd, args.go_fd, args.trace)
    model = fake_model_info(args.model_dir)
    if not args.real_model:
        use_fake_model(setattr, model)
    checkpoints.install_file_hooks()
    if args.command == "cli":
        checkpoints.install_parse_hook()
        checkpoints.install_import_hook()
        checkpoint("start")
        from notes_qa_cli import main  # the process entry, as the notes-qa script runs it

        code = main(args.rest + cli_args)
        checkpoint("exit")
        return code
    from indexer.build import build_index
    from indexer.settings import ChunkerSettings, Settings

    checkpoint("start")
    corpus, index = (Path(p) for p in args.rest)
    settings = Settings(
        corpus_dir=corpus,
        index_dir=index,
        cache_dir=index.parent / "cache",
        chunker=ChunkerSettings(target_tokens=64, max_tokens=64),
    )
    report = build_index(
        settings,
        full=args.full,
        embedder=ReportingFakeEmbedder(64),
        token_counter=WordCounter(),
        model=model,
        progress=lambda stage, done, total: checkpoint(stage),
        wait_seconds=60,
    )
    checkpoint("end")
    print(f"built {report.chunks} chunks", flush=True)
    return 0


if __name__ == "__main__":
    # As in a terminal: a test run started in the background (`make test &`) passes on an ignored
    # SIGINT, and Ctrl+C would never reach the helper; the helper restores it before any phase.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(_main(sys.argv[1:]))
