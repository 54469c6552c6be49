"""How the app is reached: the CLI hands run_app its settings; importing the UI stays light."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import tui
from indexer.settings import Settings
from notes_qa_cli.main import main
from tui import AppOptions
from tui.state import state_dir

HEAVY = ("numpy", "faiss", "onnxruntime", "torch", "sentence_transformers", "transformers", "bm25s", "scipy")


@pytest.mark.parametrize("argv", [[], ["tui"]])
def test_no_command_and_tui_open_the_app(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Settings] = []
    monkeypatch.setattr(tui, "run_app", lambda settings, options: seen.append(settings) or 0)
    monkeypatch.delenv("NOTES_QA_CORPUS", raising=False)
    monkeypatch.delenv("NOTES_QA_INDEX", raising=False)
    assert main(argv) == 0
    (settings,) = seen
    assert settings.corpus_dir == Path("corpus") and settings.index_dir == Path("index")


def test_tui_flags_reach_the_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[Settings] = []
    monkeypatch.setattr(tui, "run_app", lambda settings, options: seen.append(settings) or 0)
    assert main(["tui", "--corpus", str(tmp_path / "c"), "--index", str(tmp_path / "i")]) == 0
    assert seen[0].corpus_dir == tmp_path / "c" and seen[0].index_dir == tmp_path / "i"


def test_tui_question_mode_and_k_reach_the_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[AppOptions] = []
    monkeypatch.setattr(tui, "run_app", lambda settings, options: seen.append(options) or 0)
    monkeypatch.setenv("NOTES_QA_STATE", str(tmp_path / "state"))
    assert main(["tui", "How big can a DynamoDB item be?", "--mode", "keyword", "-k", "3"]) == 0
    assert seen[-1] == AppOptions("How big can a DynamoDB item be?", "keyword", 3, tmp_path / "state")
    assert main([]) == 0
    assert seen[-1] == AppOptions("", None, 10, tmp_path / "state")


def test_state_folder_follows_xdg(tmp_path: Path) -> None:
    assert state_dir({"NOTES_QA_STATE": "/s", "XDG_STATE_HOME": "/x"}) == Path("/s")
    assert state_dir({"XDG_STATE_HOME": "/x"}) == Path("/x/notes-qa")
    assert state_dir({"XDG_STATE_HOME": "relative"}) == Path.home() / ".local" / "state" / "notes-qa"
    assert state_dir({}) == Path.home() / ".local" / "state" / "notes-qa"


def test_the_ui_paints_before_anything_heavy_is_imported() -> None:
    probe = (
        "import tui, tui.app, tui.engine\n"
        "from tui.app import create_app\n"
        "from tui.engine import IndexEngine\n"
        "from indexer.settings import Settings\n"
        "create_app(IndexEngine(Settings()))\n"
        "import sys, json\nprint(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    loaded = {name.split(".")[0] for name in json.loads(out.strip().splitlines()[-1])}
    assert not loaded & set(HEAVY)
    assert "textual" in loaded
