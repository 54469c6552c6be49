"""The compact results list (one line per hit) and what ``y`` copies."""

from __future__ import annotations

from pathlib import Path

from indexer.snippets import answer_location
from tui.app import create_app
from tui.clipboard import without_controls
from tui.widgets.preview import PreviewPane
from tui.widgets.results import ResultsList

from .conftest import DEBOUNCE, ask, fake_engine, make_settings, settle
from .test_app import screen_text


async def test_small_terminals_get_one_line_per_result(tmp_path: Path) -> None:
    app = create_app(fake_engine(make_settings(tmp_path)), debounce=DEBOUNCE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ask(pilot, "database replicas failover item")
        results = app.screen.query_one(ResultsList)
        assert results.compact and len(results.hits) >= 4
        assert results.virtual_size.height == len(results.hits)  # one row each, no separators
        rows = [line for line in screen_text(app).splitlines() if "│" in line]
        for hit in results.hits[:4]:
            location = f"{hit.chunk.path}:{answer_location(hit)}"
            (row,) = [r for r in rows if f" {hit.rank} " in r[:6] and location in r]
            # The same absolute score as the full list: the answer line's cosine.
            assert hit.answer_score is not None
            assert hit.chunk.heading[-1] in row and f"{hit.answer_score:.2f}" in row
        # The snippet is read in the preview.
        preview = app.screen.query_one(PreviewPane)
        assert preview.hit == results.hits[0]
        assert "Multi-AZ gives automatic failover" in screen_text(app) or "400KB" in screen_text(app)

        await pilot.resize_terminal(100, 40)
        await pilot.pause()
        assert not results.compact and results.virtual_size.height > 2 * len(results.hits)


async def test_c_toggles_the_compact_list_and_keeps_the_selection(tmp_path: Path) -> None:
    app = create_app(fake_engine(make_settings(tmp_path)), debounce=DEBOUNCE)
    async with app.run_test(size=(100, 40)) as pilot:
        await ask(pilot, "database replicas failover item")
        results = app.screen.query_one(ResultsList)
        assert not results.compact
        await pilot.press("j", "c")
        await pilot.pause()
        assert results.compact and results.highlighted == 1
        assert app.screen.query_one(PreviewPane).hit == results.hits[1]
        await pilot.resize_terminal(100, 41)  # the user's choice outlives a resize
        await pilot.pause()
        assert results.compact
        await pilot.press("c")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert not results.compact and results.highlighted == 1
        box = app.screen.query_one("#question")
        box.focus()
        await pilot.press("c")  # types in the question box
        assert not results.compact


NASTY = {"evil.md": "# Evil\n\n## Colours\n\n- the \x1b[31mred\x1b[0m alarm \u202eenod\u202c rings at noon\x07\n"}


async def test_y_copies_path_line_and_snippet_without_control_characters(tmp_path: Path) -> None:
    app = create_app(fake_engine(make_settings(tmp_path, NASTY)), debounce=DEBOUNCE)
    async with app.run_test(size=(100, 30)) as pilot:
        await ask(pilot, "red alarm rings")
        await pilot.press("y")
        await settle(pilot)
        assert app.clipboard == "evil.md:5\n- the [31mred[0m alarm enod rings at noon"
        assert any(n.message == "Copied evil.md:5 and its snippet" for n in app._notifications)  # noqa: SLF001


def test_without_controls_keeps_text_newlines_and_tabs() -> None:
    assert without_controls("a\tb\nc\x1b]8;;http://x\x1b\\d\x9b\u2066e\u00e9") == "a\tb\nc]8;;http://x\\de\u00e9"
