"""A line the index holds, checked against its note as it is now."""

from __future__ import annotations

from pathlib import Path

from indexer.locate import CHANGED, GONE, MOVED, SAME, locate_line
from indexer.models import Chunk

NOTE = "# DB\n\n- alpha\n- beta\n- gamma\n"


def chunk() -> Chunk:
    return Chunk("c", "db.md", ("DB",), 1, 5, "# DB\n- alpha\n- beta\n- gamma", (1, 3, 4, 5))


def test_an_unchanged_line_is_the_same(tmp_path: Path) -> None:
    (tmp_path / "db.md").write_text(NOTE)
    assert locate_line(tmp_path, chunk(), 4).state == SAME


def test_a_line_pushed_down_is_found_at_its_new_number(tmp_path: Path) -> None:
    (tmp_path / "db.md").write_text("new\nnew\n" + NOTE)
    where = locate_line(tmp_path, chunk(), 4)
    assert (where.state, where.line) == (MOVED, 6)


def test_the_nearest_copy_of_a_repeated_line_wins(tmp_path: Path) -> None:
    (tmp_path / "db.md").write_text("x\nx\n" + NOTE + "x\n" * 10 + "- beta\n")
    assert locate_line(tmp_path, chunk(), 4).line == 6


def test_an_edited_line_and_a_deleted_note(tmp_path: Path) -> None:
    (tmp_path / "db.md").write_text(NOTE.replace("beta", "BETA"))
    assert locate_line(tmp_path, chunk(), 4).state == CHANGED
    (tmp_path / "db.md").unlink()
    assert locate_line(tmp_path, chunk(), 4).state == GONE


def test_part_of_a_long_line_still_matches(tmp_path: Path) -> None:
    long = "- " + "word " * 50
    (tmp_path / "db.md").write_text(f"x\n{long}\n")
    part = Chunk("c", "db.md", (), 1, 1, "word word word", ())
    assert (locate_line(tmp_path, part, 1).state, locate_line(tmp_path, part, 1).line) == (MOVED, 2)
