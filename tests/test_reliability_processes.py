"""Builds that are killed, interrupted or run twice at once never lose the index.

These start real processes (``python -m tests.reliability_support``), which
build with the fake model and report each phase they pass (``tests.checkpoints``):
start-up, chunking, each embedding batch, writing, each file-system step of
swapping the new build in, cleaning up. Each kill and Ctrl+C is aimed at one
of those phases: the helper stops there until it is killed, so every kill lands
where the test says, on a busy machine too.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from indexer.build import build_index
from indexer.index_files import current_build, load_index, verify_files
from indexer.manifest import read_manifest
from indexer.search import Searcher
from indexer.settings import ChunkerSettings, Settings

from .checkpoints import Helper, sample
from .fakes import FakeEmbedder, WordCounter
from .reliability_support import FakeCLI, Outcome, assert_clean_error, fake_model_info, record

pytestmark = pytest.mark.slow


def make_corpus(folder: Path, notes: int = 40) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(notes):
        lines = [f"# Service {n}", "", f"## Limits of service {n}", ""]
        lines += [f"- service{n} limit {i} is {n * i} units of quota{i}" for i in range(10)]
        lines += ["", f"## Pricing of service {n}", "", f"Service {n} costs {n} cents per request in region r{n % 7}."]
        (folder / f"service-{n:03d}.md").write_text("\n".join(lines) + "\n")
    return folder


def settings_for(corpus: Path, index: Path) -> Settings:
    return Settings(corpus_dir=corpus, index_dir=index, cache_dir=index.parent / "cache",
                    chunker=ChunkerSettings(target_tokens=64, max_tokens=64))


def answers(index: Path) -> bool:
    loaded = load_index(index)
    hits = Searcher(loaded, FakeEmbedder()).search("service7 limit quota3", k=3).hits
    return bool(hits) and all(h.chunk in loaded.chunks for h in hits)


def test_kill_9_at_every_phase_of_a_build_never_loses_the_index(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "notes")
    index = tmp_path / "index"
    for _ in range(2):  # two finished builds: the next one also removes the oldest
        assert Helper("build", str(corpus), str(index), "--full").finish()[0] == 0
    tracer = Helper("build", str(corpus), str(index), "--full", trace=True)
    phases = tracer.trace()
    assert tracer.finish()[0] == 0
    assert {"embed", "writing", "rename build done", "replace current", "replace current done", "rmtree build"} <= set(
        phases
    ), phases
    targets = sample(phases)
    assert answers(index)

    outcome = {"old index": 0, "new index": 0, "left tmp-*": 0, "nothing to clean": 0}
    for round_, target in enumerate(targets):
        note = corpus / f"service-{round_ % 40:03d}.md"
        note.write_text(note.read_text() + f"- changed in round {round_}\n")
        before = current_build(index)
        process = Helper("build", str(corpus), str(index), "--full", pause_at=target)
        try:
            stopped = process.wait_for()
            if stopped is not None:
                process.kill()  # SIGKILL: no clean-up of any kind
        finally:
            code, _, err = process.finish()
        if stopped is None:  # only removing old folders depends on what earlier rounds left
            assert target.startswith("rmtree ") and code == 0, (target, code, process.phases, err)
            outcome["nothing to clean"] += 1
        else:
            assert code == -signal.SIGKILL, (target, code, err)
        outcome["left tmp-*"] += any(index.glob("tmp-*"))
        assert answers(index), f"killed at {target}: the index does not answer"
        # Until the link is swapped the old build answers; from then on the new one.
        if process.reached("replace current done"):
            assert current_build(index) != before, target
            outcome["new index"] += 1
        else:
            assert current_build(index) == before, target
            outcome["old index"] += 1

    code, _, err = Helper("build", str(corpus), str(index)).finish()
    assert code == 0, err
    assert not list(index.glob("tmp-*")) and not list(index.glob(".current-*")), list(index.iterdir())
    assert len(list(index.glob("build-*"))) <= 3
    assert answers(index)
    print(f"\nkill -9 at {len(targets)} phases: " + ", ".join(f"{k}: {v}" for k, v in outcome.items()))


def test_ctrl_c_during_index_keeps_the_old_index(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "notes", notes=60)
    index = tmp_path / "index"
    model = fake_model_info(Path("/nonexistent-fake-model"))
    build_index(settings_for(corpus, index), embedder=FakeEmbedder(), token_counter=WordCounter(), model=model)
    old = current_build(index)
    process = Helper("cli", "--", "index", "--full", "--corpus", str(corpus), "--index", str(index),
                     pause_at="embed#2")
    try:
        process.paused()  # embedding, under the build lock
        assert (index / ".lock").read_text().strip() == str(process.pid)
        process.signal(signal.SIGINT)
    finally:
        code, out, err = process.finish()
    lines = err.strip().splitlines()
    record("index: Ctrl+C (SIGINT) during notes-qa index", Outcome(code, out, err))
    assert code == 130, err
    assert lines == ["notes-qa: interrupted; the previous index is kept"], err
    assert current_build(index) == old
    assert not list(index.glob("tmp-*"))
    assert answers(index)


def test_two_index_runs_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = make_corpus(tmp_path / "notes", notes=60)
    index = tmp_path / "index"
    cli = FakeCLI(monkeypatch, capsys, tmp_path)
    first = Helper("cli", "--", "index", "--full", "--corpus", str(corpus), "--index", str(index), pause_at="embed#1")
    try:
        first.paused()  # the first run holds the lock and waits there
        # A second `notes-qa index` exits at once with a clear message.
        second = cli("index", "--corpus", str(corpus), "--index", str(index))
        assert_clean_error(second, 4, f"another notes-qa index run (pid {first.pid}) is building",
                           "wait for it to finish", case="index: a second notes-qa index while one runs")
        first.go()
        # A build that may wait (as `ask` does) waits for the lock, then builds after it.
        settings = settings_for(corpus, index)
        report = build_index(settings, embedder=FakeEmbedder(), token_counter=WordCounter(), model=cli.model,
                             wait_seconds=300)
    finally:
        code, _, err = first.finish()  # waits for the exit: the lock is released a moment before it
    assert code == 0, err
    builds = sorted(index.glob("build-*"))
    assert len(builds) == 2 and current_build(index) == report.index_dir == builds[-1]
    for folder in builds:  # neither build wrote into the other's folder
        verify_files(folder, read_manifest(folder))
    assert answers(index)
