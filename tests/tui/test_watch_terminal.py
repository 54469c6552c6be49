"""In a real terminal (tmux): edit a note while the app is open, and see the new fact answered without a key press."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from ..conftest import ROOT
from .tmux import TmuxScreen, have_tmux, result_rows

pytestmark = pytest.mark.skipif(not have_tmux(), reason="needs tmux")

#: The app with the deterministic fake embedder over a tiny corpus made under argv[1], watching it.
LAUNCHER = """
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
from tests.tui.conftest import fake_engine, make_settings
from tui.app import create_app
create_app(fake_engine(make_settings(Path(sys.argv[1]))), watch=True).run()
"""


def test_a_saved_fact_is_answered_and_a_deleted_note_goes_without_a_key_press(tmp_path: Path) -> None:
    launcher = tmp_path / "launch.py"
    launcher.write_text(LAUNCHER.format(root=str(ROOT)))
    env = {"PYTHONPATH": str(ROOT), "TERM": "xterm-256color", "HF_HUB_OFFLINE": "1", "PATH": os.environ["PATH"]}
    screen = TmuxScreen([sys.executable, str(launcher), str(tmp_path)], env=env, width=160, height=40)
    try:
        screen.wait_for(lambda t: "Ready:" in t, "the app ready")
        screen.type("valkey open source fork")
        screen.press("Enter")
        screen.wait_for(lambda t: 1 in result_rows(t), "the first answer")
        with (tmp_path / "notes" / "cache.md").open("a", encoding="utf-8") as note:
            note.write("- Valkey is the open source fork of Redis\n")
        # From here on nothing is pressed.
        # Rank 1's row shows the fact (full list), or the preview of rank 1 does (compact list).
        shown = screen.wait_for(lambda t: "cache.md:" in result_rows(t).get(1, "") and "Valkey is the open source fork" in t,
                                "the new fact at rank 1")
        assert "cache.md" in result_rows(shown)[1]
        (tmp_path / "notes" / "cache.md").unlink()
        gone = screen.wait_for(lambda t: bool(result_rows(t)) and "cache.md:" not in t and "Valkey" not in t,
                               "the deleted note's hits gone")
        assert "database.md:" in gone or "storage.md:" in gone
    finally:
        screen.close()
