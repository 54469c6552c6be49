"""The app driven by Pilot, over a tiny corpus with the deterministic fake embedder."""

from __future__ import annotations

import shutil
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from indexer.settings import ChunkerSettings, Settings
from tui.app import NotesQAApp, create_app
from tui.engine import IndexEngine
from tui.widgets.preview import PreviewPane
from tui.widgets.question import QuestionBox
from tui.widgets.results import ResultsList

from .conftest import ask, fake_engine, make_settings, prebuild, settle

SIZE = (100, 30)


def messages(app: NotesQAApp) -> list[str]:
    return [n.message for n in app._notifications]  # noqa: SLF001 - no public accessor


def errors(app: NotesQAApp) -> list[str]:
    return [n.message for n in app._notifications if n.severity == "error"]  # noqa: SLF001


def screen_text(app: NotesQAApp) -> str:
    """What the terminal shows, as plain text."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())  # noqa: SLF001


def status_text(app: NotesQAApp) -> str:
    return str(app.screen_stack[0].query_one("#status-text").render())


async def test_question_enter_shows_the_first_hit(app: NotesQAApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "maximum item size")
        results = app.screen.query_one(ResultsList)
        top = results.hits[0]
        assert top.chunk.path == "database.md" and top.chunk.heading == ("Database", "DynamoDB")
        assert "Maximum size of an item is 400KB" in top.snippet.text
        text = screen_text(app)
        assert "Database > DynamoDB" in text and "database.md:6" in text
        assert "Maximum size of an item is 400KB" in text
        assert app.focused is results  # Enter moves on to the results
        assert not errors(app)


async def test_the_index_is_built_in_the_app_when_missing(app: NotesQAApp, settings: Settings) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.searcher is not None
        assert any(m.startswith("Built the index") for m in messages(app))
        assert "Ready" in status_text(app)
        assert (settings.index_dir / "current").exists()


async def test_moving_the_selection_updates_the_preview(app: NotesQAApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "database replicas failover item")
        results = app.screen.query_one(ResultsList)
        preview = app.screen.query_one(PreviewPane)
        assert len(results.hits) >= 2
        assert preview.hit == results.hits[0]
        await pilot.press("j")
        await pilot.pause()
        assert preview.hit == results.hits[1]
        body = str(preview.query_one("#preview-body").render())
        chunk = results.hits[1].chunk
        assert chunk.heading_path in body
        first_number, first_line = chunk.numbered_lines()[0]
        assert f"{first_number} │ {first_line}" in body
        await pilot.press("k")
        await pilot.pause()
        assert preview.hit == results.hits[0]
        await pilot.press("down")
        await pilot.pause()
        assert preview.hit == results.hits[1]


async def test_results_follow_typing_after_a_pause(engine: IndexEngine) -> None:
    app = create_app(engine, debounce=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*"memcached")
        await settle(pilot)
        results = app.screen.query_one(ResultsList)
        assert results.hits and results.hits[0].chunk.heading == ("Cache", "ElastiCache")
        assert isinstance(app.focused, QuestionBox)  # typing keeps the focus in the box


async def test_mode_key_cycles_and_searches_again(app: NotesQAApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "presigned URL object")
        results = app.screen.query_one(ResultsList)
        assert results.border_subtitle.endswith("hybrid")
        seen = []
        for _ in range(3):
            await pilot.press("m")
            await settle(pilot)
            seen.append(app.mode)
            assert results.border_subtitle.endswith(app.mode)
            assert f"mode: {app.mode}" in screen_text(app)
            assert results.hits[0].chunk.heading == ("Storage", "S3")
        assert seen == ["dense", "keyword", "hybrid"]


async def test_q_types_in_the_box_and_quits_elsewhere(app: NotesQAApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q", "m", "r")
        box = app.screen.query_one(QuestionBox)
        assert box.value == "qmr" and app.mode == "hybrid" and app.is_running
        await pilot.press("escape")
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_ctrl_c_quits_from_the_box(app: NotesQAApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a", "ctrl+c")
        await pilot.pause()
        assert not app.is_running


async def test_up_in_the_box_recalls_earlier_questions(app: NotesQAApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "redis")
        await ask(pilot, "dynamodb ttl")
        box = app.screen.query_one(QuestionBox)
        box.focus()
        await pilot.press("ctrl+u", *"draft")  # ctrl+u clears the box before the cursor
        assert box.value == "draft"
        await pilot.press("up")
        assert box.value == "dynamodb ttl"
        await pilot.press("up")
        assert box.value == "redis"
        await pilot.press("up")
        assert box.value == "redis"
        await pilot.press("down", "down")
        assert box.value == "draft"


async def test_rebuild_key_rebuilds_in_the_background(app: NotesQAApp, settings: Settings) -> None:
    prebuild(app.engine)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "gp3 volumes")
        assert not any(m.startswith("Built") for m in messages(app))
        first = app.searcher
        (settings.corpus_dir / "network.md").write_text("# Network\n\n## VPC\n\n- gp3 is not a network thing\n")
        await pilot.press("r")
        await settle(pilot)
        assert app.searcher is not first
        rebuilt = [m for m in messages(app) if m.startswith("Rebuilt the index")]
        assert rebuilt and "4 notes" in rebuilt[0]
        assert "Ready" in status_text(app) or "result" in status_text(app)
        assert any(h.chunk.path == "network.md" for h in app.screen.query_one(ResultsList).hits)


async def test_build_progress_shows_in_the_status_line(app: NotesQAApp) -> None:
    from tui.messages import BuildProgress

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.post_message(BuildProgress("embedding", 3, 10))
        await pilot.pause()
        assert "embedding 3/10" in status_text(app)
        bar = app.screen.query_one("#status-progress")
        assert bar.display and bar.progress == 3  # type: ignore[attr-defined]


@pytest.fixture
def fake_editor(tmp_path: Path) -> tuple[str, Path]:
    log = tmp_path / "editor-argv.txt"
    script = tmp_path / "vim"  # a name the app knows takes +LINE
    script.write_text(f'#!/bin/sh\nfor a in "$@"; do echo "$a"; done > "{log}"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script), log


async def test_o_opens_the_note_in_the_editor_at_the_line(
    app: NotesQAApp, settings: Settings, fake_editor: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    script, log = fake_editor
    monkeypatch.delenv("NOTES_QA_EDITOR", raising=False)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", script)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "maximum item size")
        await pilot.press("o")
        await pilot.pause()
        assert log.read_text().split("\n")[:2] == ["+6", str((settings.corpus_dir / "database.md").resolve())]
        assert not errors(app) and app.is_running


async def test_editor_not_found_is_a_notification(app: NotesQAApp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTES_QA_EDITOR", raising=False)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", "no-such-editor-xyz --wait")
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "maximum item size")
        await pilot.press("o")
        await pilot.pause()
        assert app.is_running
        (error,) = errors(app)
        assert "no-such-editor-xyz" in error and "$EDITOR" in error


async def test_y_copies_the_snippet(app: NotesQAApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "maximum item size")
        await pilot.press("y")
        top = app.screen.query_one(ResultsList).hits[0]
        assert "- Maximum size of an item is 400KB" in app.clipboard
        assert app.clipboard == f"database.md:{top.snippet.start_line}\n{top.snippet.text}"


async def test_help_screen_opens_and_closes(app: NotesQAApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "redis")
        await pilot.press("question_mark")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
        text = screen_text(app)
        for key in ("Enter", "Tab", "editor", "rebuild", "Ctrl+C", "hybrid", "one line per result"):
            assert key in text
        await pilot.press("escape")
        assert type(app.screen).__name__ == "MainScreen"
        app.screen.query_one(QuestionBox).focus()
        await pilot.press("question_mark")  # types in the box
        assert type(app.screen).__name__ == "MainScreen"
        await pilot.press("f1")
        assert type(app.screen).__name__ == "HelpScreen"


async def test_tab_moves_between_panes(app: NotesQAApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "redis")
        assert isinstance(app.focused, ResultsList)
        await pilot.press("tab")
        assert isinstance(app.focused, PreviewPane)
        await pilot.press("tab")
        assert isinstance(app.focused, QuestionBox)
        await pilot.press("slash")  # typed in the box, not a key here
        assert app.screen.query_one(QuestionBox).value.endswith("/")


async def test_missing_corpus_is_a_notification(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, notes={})
    settings = Settings(corpus_dir=tmp_path / "nowhere", index_dir=settings.index_dir, cache_dir=settings.cache_dir,
                        chunker=settings.chunker)
    app = create_app(fake_engine(settings))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.is_running and app.searcher is None
        (error,) = errors(app)
        assert "nowhere" in error
        assert "nowhere" in status_text(app) and "press r" in status_text(app)
        await pilot.press("escape", "r")  # retrying fails the same way, still no crash
        await settle(pilot)
        assert len(errors(app)) == 2 and app.is_running


async def test_unexpected_engine_errors_do_not_kill_the_app(app: NotesQAApp, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(progress: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(app.engine, "open", boom)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.is_running
        (error,) = errors(app)
        assert "disk on fire" in error


async def test_damaged_index_files_are_rebuilt(app: NotesQAApp, settings: Settings) -> None:
    prebuild(app.engine)  # type: ignore[arg-type]
    with (settings.index_dir / "current" / "chunks.jsonl").open("a") as handle:
        handle.write("tampered\n")
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "maximum item size")
        assert not errors(app)
        assert any("rebuilt from the notes" in m for m in messages(app))
        assert app.screen.query_one(ResultsList).hits[0].chunk.heading == ("Database", "DynamoDB")


async def test_broken_index_is_rebuilt(app: NotesQAApp, settings: Settings) -> None:
    prebuild(app.engine)  # type: ignore[arg-type]
    manifest = settings.index_dir / "current" / "manifest.json"
    manifest.write_text("{not json")
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "maximum item size")
        assert not errors(app)
        assert app.screen.query_one(ResultsList).hits[0].chunk.heading == ("Database", "DynamoDB")




def test_modes_match_the_engine() -> None:
    import indexer.search
    import tui.app
    from indexer.modes import MODES

    assert tui.app.MODES is MODES and indexer.search.MODES is MODES  # one definition, no copy to drift


async def test_resizing_switches_the_layout(app: NotesQAApp) -> None:
    async with app.run_test(size=(120, 36)) as pilot:
        await ask(pilot, "maximum item size")
        main = app.screen_stack[0]
        assert main.has_class("-wide")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert main.has_class("-narrow")
        assert "Maximum size of an item is 400KB" in screen_text(app)
        await pilot.resize_terminal(200, 50)
        await pilot.pause()
        assert main.has_class("-wide") and app.is_running


async def test_editor_failure_and_changed_note_are_reported(
    app: NotesQAApp, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bin").mkdir()
    script = tmp_path / "bin" / "vi"  # an editor that edits the note, then fails
    script.write_text('#!/bin/sh\nshift\necho "- edited" >> "$1"\nexit 3\n')
    script.chmod(0o755)
    monkeypatch.delenv("NOTES_QA_EDITOR", raising=False)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", str(script))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "maximum item size")
        await pilot.press("o")
        await pilot.pause()
        assert any("exited with status 3" in m for m in messages(app))
        assert any("press r" in m for m in messages(app))
        assert (settings.corpus_dir / "database.md").read_text().endswith("- edited\n")


async def test_a_failed_rebuild_keeps_the_previous_index(app: NotesQAApp, settings: Settings) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "redis")
        searcher = app.searcher
        shutil.rmtree(settings.corpus_dir)
        await pilot.press("r")
        await settle(pilot)
        (error,) = errors(app)
        assert "does not exist" in error
        assert "still answering" in status_text(app)
        assert app.searcher is searcher
        await ask(pilot, "maximum item size")
        assert app.screen.query_one(ResultsList).hits[0].chunk.heading == ("Database", "DynamoDB")


async def test_an_off_topic_question_says_no_good_match_above_the_results(app: NotesQAApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "how do I bake sourdough bread")
        assert app.results.hits  # the nearest passages are still listed
        assert status_text(app).startswith("No good match in your notes")
        assert "No good match in your notes" in screen_text(app)
        await ask(pilot, "maximum item size")
        assert status_text(app) == f"{len(app.results.hits)} results"


async def test_o_opens_the_editor_at_the_answer_line_not_the_snippet_start(
    app: NotesQAApp, settings: Settings, fake_editor: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    script, log = fake_editor
    monkeypatch.setenv("EDITOR", script)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "backups kept days")
        hit = app.results.hits[0]
        assert hit.answer_line is not None and hit.answer_line != hit.snippet.start_line
        await pilot.press("o")
        await pilot.pause()
        assert log.read_text().split("\n")[0] == f"+{hit.answer_line}"
        assert dict(hit.chunk.numbered_lines())[hit.answer_line] == "- Backups are kept for 1 to 35 days"


async def test_the_answer_line_is_in_view_on_a_small_screen(tmp_path: Path) -> None:
    """Long lines above the answer wrap; the preview still scrolls the answer line into view."""
    filler = [f"- filler {n} extraordinarily lengthy vocabulary demonstrates wrapping behaviour everywhere"
              for n in range(6)]
    notes = {"long.md": "# Long\n\n## Section\n\n" + "\n".join(filler) + "\n- zebra quokka answer line\n"}
    settings = replace(make_settings(tmp_path, notes), chunker=ChunkerSettings(target_tokens=200, max_tokens=256))
    app = create_app(fake_engine(settings), debounce=5)
    async with app.run_test(size=(80, 24)) as pilot:
        await ask(pilot, "zebra quokka")
        hit = app.results.hits[0]
        assert dict(hit.chunk.numbered_lines())[hit.answer_line] == "- zebra quokka answer line"
        preview = app.screen.query_one(PreviewPane)
        assert preview.scroll_y > 0
        shown = "\n".join(screen_text(app).split("\n")[-10:])  # the preview pane, at the bottom
        assert "zebra quokka answer line" in shown
