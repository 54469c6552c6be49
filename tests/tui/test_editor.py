"""The editor command: templates, the forms of known editors, the file alone for others."""

from __future__ import annotations

import stat
from dataclasses import replace
from pathlib import Path

import pytest

from tui.app import NotesQAApp
from tui.editor import EditorError, chosen_editor, editor_command, resolve_command
from tui.widgets.results import ResultsList

from .conftest import ask

NOTE = Path("/notes/my notes/data base.md")


@pytest.mark.parametrize(
    ("editor", "argv"),
    [
        ("vi", ["vi", "+12", str(NOTE)]),
        ("vim", ["vim", "+12", str(NOTE)]),
        ("/usr/bin/nvim -u NONE", ["/usr/bin/nvim", "-u", "NONE", "+12", str(NOTE)]),
        ("nano", ["nano", "+12", str(NOTE)]),
        ("emacs -nw", ["emacs", "-nw", "+12", str(NOTE)]),
        ("micro", ["micro", "+12", str(NOTE)]),
        ("hx", ["hx", "+12", str(NOTE)]),
        ("helix", ["helix", "+12", str(NOTE)]),
        ("code --wait", ["code", "--wait", "-g", f"{NOTE}:12"]),
        ("codium", ["codium", "-g", f"{NOTE}:12"]),
        ("cursor", ["cursor", "-g", f"{NOTE}:12"]),
        ("subl -w", ["subl", "-w", f"{NOTE}:12"]),
        ("zed", ["zed", f"{NOTE}:12"]),
        ("'/opt/Sublime Text/subl'", ["/opt/Sublime Text/subl", f"{NOTE}:12"]),
    ],
)
def test_known_editors_get_the_line_in_their_own_form(editor: str, argv: list[str]) -> None:
    assert editor_command(editor, NOTE, 12) == (argv, None)


def test_unknown_editors_get_the_file_alone_and_a_note() -> None:
    argv, note = editor_command("ed -p '> '", NOTE, 12)
    assert argv == ["ed", "-p", "> ", str(NOTE)]
    assert note is not None and "NOTES_QA_EDITOR" in note and "line 12" in note


@pytest.mark.parametrize(
    ("template", "argv"),
    [
        ("code -g {path}:{line}", ["code", "-g", f"{NOTE}:12"]),
        ("kate --line {line} {path}", ["kate", "--line", "12", str(NOTE)]),
        ('"my editor" --at={line} -- {path}', ["my editor", "--at=12", "--", str(NOTE)]),
        ("gedit +{line}", ["gedit", "+12", str(NOTE)]),  # no {path}: the file goes last
    ],
)
def test_templates_fill_each_argument(template: str, argv: list[str]) -> None:
    assert editor_command(template, NOTE, 12) == (argv, None)


def test_a_path_with_shell_characters_stays_one_literal_argument() -> None:
    odd = Path("/notes/a b;$(rm -rf x)`id`.md")
    argv, _ = editor_command("code -g {path}:{line}", odd, 3)
    assert argv == ["code", "-g", f"{odd}:3"]


@pytest.mark.parametrize("bad", ["", "   ", "vim 'unclosed"])
def test_blank_or_unreadable_commands_are_errors(bad: str) -> None:
    with pytest.raises(EditorError):
        editor_command(bad, NOTE, 1)


def test_notes_qa_editor_then_visual_then_editor() -> None:
    env = {"NOTES_QA_EDITOR": "code -g {path}:{line}", "VISUAL": "nvim", "EDITOR": "nano"}
    assert chosen_editor(env) == ("code -g {path}:{line}", "NOTES_QA_EDITOR")
    assert chosen_editor({**env, "NOTES_QA_EDITOR": " "}) == ("nvim", "VISUAL")
    assert chosen_editor({"EDITOR": "nano"}) == ("nano", "EDITOR")


def test_a_missing_editor_names_the_variable_to_fix(tmp_path: Path) -> None:
    with pytest.raises(EditorError, match=r"'nowhere-editor' not found$") as missing:
        resolve_command(NOTE, 1, {"VISUAL": "nowhere-editor", "PATH": str(tmp_path)})
    assert missing.value.fix == "set $VISUAL to an installed editor, e.g. export EDITOR=nano"
    with pytest.raises(EditorError, match="^no editor found$") as none:
        resolve_command(NOTE, 1, {"PATH": str(tmp_path)})
    assert none.value.fix is not None and none.value.fix.startswith("set $EDITOR")
    with pytest.raises(EditorError, match=r"^cannot read the editor command .*\(No closing quotation\)$") as bad:
        resolve_command(NOTE, 1, {"EDITOR": "'", "PATH": str(tmp_path)})
    assert bad.value.fix == "set $EDITOR to a command, e.g. export EDITOR=nano"


def fake_program(folder: Path, name: str) -> tuple[str, Path]:
    """An executable called ``name`` that writes its arguments, one a line, to a log."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"{name}-argv.txt"
    script = folder / name
    script.write_text(f'#!/bin/sh\nfor a in "$@"; do echo "$a"; done > "{log}"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script), log


@pytest.fixture
def editor_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("NOTES_QA_EDITOR", "VISUAL", "EDITOR"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


async def test_o_opens_vs_code_at_the_answer_line(app: NotesQAApp, tmp_path: Path, editor_env: pytest.MonkeyPatch) -> None:
    script, log = fake_program(tmp_path / "bin", "code")
    editor_env.setenv("VISUAL", f"{script} --wait")
    async with app.run_test(size=(100, 30)) as pilot:
        await ask(pilot, "maximum item size")
        results = app.screen.query_one(ResultsList)
        # The answer line, when the search names one, wins over the snippet's first line.
        results.hits = (replace(results.hits[0], answer_line=8), *results.hits[1:])
        await pilot.press("o")
        await pilot.pause()
        path = (app.engine.settings.corpus_dir / "database.md").resolve()
        assert log.read_text().splitlines() == ["--wait", "-g", f"{path}:8"]
        assert app.is_running and not [n for n in app._notifications if n.severity == "error"]  # noqa: SLF001


async def test_o_with_a_template_and_an_unknown_editor(app: NotesQAApp, tmp_path: Path,
                                                      editor_env: pytest.MonkeyPatch) -> None:
    script, log = fake_program(tmp_path / "bin dir", "myedit")
    editor_env.setenv("NOTES_QA_EDITOR", f"'{script}' --line={{line}} {{path}}")
    async with app.run_test(size=(100, 30)) as pilot:
        await ask(pilot, "maximum item size")
        path = (app.engine.settings.corpus_dir / "database.md").resolve()
        await pilot.press("o")
        await pilot.pause()
        assert log.read_text().splitlines() == ["--line=6", str(path)]
        editor_env.delenv("NOTES_QA_EDITOR")
        editor_env.setenv("EDITOR", f"'{script}'")
        await pilot.press("o")
        await pilot.pause()
        assert log.read_text().splitlines() == [str(path)]
        notes = [n.message for n in app._notifications]  # noqa: SLF001
        assert any("opened at the top" in n and "NOTES_QA_EDITOR" in n for n in notes)
