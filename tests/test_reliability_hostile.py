"""Hostile note text is shown as literal, harmless text.

Notes (and their file names) may hold Rich/Textual markup, ANSI and OSC-8
escape sequences, bidi overrides and other control characters. ``notes-qa ask``
prints them visibly escaped in the human format (``indexer.safe_text``) and as
``\\uXXXX`` escapes in JSON (``ensure_ascii``), so they can neither restyle nor
take over the terminal, nor reorder what is shown.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from indexer.safe_text import safe_text

from .conftest import write_notes
from .reliability_support import FakeCLI, assert_clean_error, assert_ok

ESC = "\x1b"
HOSTILE_NOTE = (
    f"# Evil {ESC}[31mred{ESC}[0m heading \u202egnp.exe\n\n"
    "## [bold]Markup[/bold] [link=https://evil.example]click[/link]\n\n"
    f"- hostile ansi {ESC}[2J{ESC}[H cleared the screen\x07 and rang the bell\n"
    f"- hostile osc8 {ESC}]8;;https://evil.example{ESC}\\link text{ESC}]8;;{ESC}\\ and title {ESC}]0;pwned\x07\n"
    "- hostile c1 \x9b31m csi, \x85 next line, \x90dcs\x9c and delete\x7f and backspace\x08\n"
    "- hostile bidi \u2066isolate\u2069 \u202aembed\u202c zero\u200bwidth \ufeffbom \u061calm\n"
    "- hostile carriage\rreturn overwrites and a vertical\x0btab and form\x0cfeed\n"
)
HOSTILE_NAME = f"evil {ESC}[1mname\u202e.md"


def is_harmless(text: str) -> bool:
    """Only printable characters, new lines and tabs: no C0/C1 controls, no bidi or other format characters."""
    return all(ch in "\n\t" or (ch.isprintable() and unicodedata.category(ch) != "Cf") for ch in text)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> FakeCLI:
    return FakeCLI(monkeypatch, capsys, tmp_path)


@pytest.fixture
def args(cli: FakeCLI, tmp_path: Path) -> list[str]:
    notes = write_notes(tmp_path / "notes", {HOSTILE_NAME: HOSTILE_NOTE, "plain.md": "# Plain\n\n- nothing to see\n"})
    found = ["--corpus", str(notes), "--index", str(tmp_path / "index")]
    assert cli("index", *found).code == 0
    return found


def test_safe_text_leaves_no_control_or_format_character() -> None:
    shown = safe_text(HOSTILE_NOTE + HOSTILE_NAME)
    assert is_harmless(shown)
    assert "␛[31m" in shown and "<U+202E>" in shown and "<U+009B>" in shown and "␇" in shown
    assert "[bold]Markup[/bold]" in shown  # markup stays literal text
    assert is_harmless(safe_text("a\nb\tc", keep_newlines=False)) and "\n" not in safe_text("a\nb", keep_newlines=False)


def test_ask_for_people_prints_hostile_notes_harmlessly(cli: FakeCLI, args: list[str]) -> None:
    done = cli("ask", "-k", "5", *args, "hostile ansi osc8 c1 bidi carriage markup evil")
    assert_ok(done, case="hostile note text: ask (human output)")
    assert "hostile" in done.out and "[bold]Markup[/bold]" in done.out and "[link=https://evil.example]" in done.out
    assert is_harmless(done.out), [ch for ch in done.out if not is_harmless(ch)]
    assert is_harmless(done.err)
    assert "␛[2J" in done.out or "␛" in done.out  # visible, not obeyed


def test_ask_json_escapes_everything_and_keeps_the_text(cli: FakeCLI, args: list[str]) -> None:
    done = cli("ask", "--json", "-k", "5", *args, "hostile ansi osc8 c1 bidi carriage markup evil")
    assert_ok(done, case="hostile note text: ask --json")
    assert done.out.isascii()
    payload = json.loads(done.out)
    texts = "\n".join(r["text"] for r in payload["results"])
    assert f"{ESC}[2J" in texts and "\u202e" in texts  # lossless for scripts
    assert any(r["path"].endswith(HOSTILE_NAME) for r in payload["results"])


def test_batch_output_and_questions_are_harmless(cli: FakeCLI, args: list[str], tmp_path: Path) -> None:
    batch = tmp_path / "batch.txt"
    batch.write_text(f"hostile {ESC}[31mansi\x07\nbidi \u202eevil\n", encoding="utf-8")
    done = cli("ask", "--batch", str(batch), *args)
    assert_ok(done)
    assert is_harmless(done.out)


def test_hostile_file_names_in_warnings_and_errors(cli: FakeCLI, args: list[str], tmp_path: Path) -> None:
    notes = Path(args[1])
    (notes / f"bin{ESC}]0;title\x07.md").write_bytes(b"\x00" * 10)
    done = cli("index", *args)
    assert_ok(done, "looks binary")
    assert is_harmless(done.err)
    bad = tmp_path / f"batch{ESC}[2J\nsecond line.txt"
    done = cli("ask", "--batch", str(bad), *args)
    assert_clean_error(done, 2, "cannot read the batch file", "␛[2J␊second line", case="hostile file name in an error")
