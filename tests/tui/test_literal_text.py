"""Text from notes is shown literally: no markup, no escape sequences, no control characters."""

from __future__ import annotations

from pathlib import Path

from rich.segment import Segment

from tui.app import NotesQAApp, create_app
from tui.widgets.preview import PreviewPane
from tui.widgets.results import ResultsList

from .conftest import ask, fake_engine, make_settings

EVIL = {
    "evil [b]b[/b].md": "# Evil [bold]x[/bold]\n\n## Links [link=http://evil]y[/link]\n\n"
    "- tag [bold]x[/bold] and [link=http://evil]y[/link] and [red]z[/] alert\n"
    "- red \x1b[31mALERT\x1b[0m alert text\n"
    "- osc \x1b]8;;http://x\x07click\x1b]8;;\x07 alert here\n"
    "- bidi \u202eevil\u202c alert end\n",
    "plain.md": "# Plain\n\n## Other\n\n- nothing to see here\n",
}


def segments(app: NotesQAApp) -> list[Segment]:
    return [seg for strip in app.screen._compositor.render_strips() for seg in strip]  # noqa: SLF001


async def test_markup_and_escapes_in_notes_show_literally(tmp_path: Path) -> None:
    app = create_app(fake_engine(make_settings(tmp_path, EVIL)), debounce=5)
    async with app.run_test(size=(160, 50)) as pilot:
        await ask(pilot, "alert tag red osc bidi")
        hits = app.screen.query_one(ResultsList).hits
        assert hits and hits[0].chunk.path == "evil [b]b[/b].md"
        await pilot.press("tab")  # the preview pane: the whole chunk
        assert app.screen.query_one(PreviewPane).hit == hits[0]
        await pilot.pause()
        shown = segments(app)
        text = "".join(seg.text for seg in shown)
        for literal in ("[bold]x[/bold]", "[link=http://evil]y[/link]", "[red]z[/]", "␛[31mALERT␛[0m",
                        "␛]8;;http://x␇click", "<U+202E>evil<U+202C>"):
            assert text.count(literal) >= 2, literal  # in the results list and in the preview
        assert text.count("evil [b]b[/b].md:") >= 3  # the row, the preview and its border
        assert "Evil [bold]x[/bold] > Links [link=http://evil]y[/link]" in text  # the heading path
        assert not any(ch in text for ch in "\x1b\x07\u202e\u202c")
        assert not any(seg.style is not None and seg.style.link for seg in shown)

