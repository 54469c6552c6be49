"""Turn the plain-text study notes into Markdown under corpus/, losing no line.

Rules (the only changes made to the notes):
- ``=== STORAGE ===`` starts a new file (``storage.md``) whose first line is ``# Storage``.
- A service title line (not a bullet, not a table row, starting with a capital
  letter or digit, e.g. ``DynamoDB``) becomes ``## DynamoDB``.
- A blank line is added before each heading and before a table, so that the
  Markdown renders as intended. Every other line is copied byte for byte
  (odd spellings, non-breaking spaces, pipe tables, lazy continuation lines).

Usage: python scripts/convert_notes.py SOURCE.txt OUT_DIR
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

SECTION = re.compile(r"^=== (.+) ===$")
DELIMITER_ROW = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def section_title(name: str) -> str:
    return " ".join(word.capitalize() if word.isupper() else word for word in name.split(" ")).replace(
        "(stream)", "(Stream)"
    )


def section_file(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return f"{slug}.md"


def is_title(line: str) -> bool:
    if not line.strip() or line.startswith("- ") or "|" in line:
        return False
    return line[0].isupper() or line[0].isdigit()


def convert(lines: list[str]) -> dict[str, list[str]]:
    files: dict[str, list[str]] = {}
    out: list[str] | None = None
    for index, line in enumerate(lines):
        match = SECTION.match(line)
        if match:
            name = match.group(1)
            out = files.setdefault(section_file(name), [])
            out.append(f"# {section_title(name)}")
            continue
        if out is None:
            raise SystemExit(f"line {index + 1}: text before the first === SECTION === line")
        nxt = lines[index + 1] if index + 1 < len(lines) else ""
        if is_title(line):
            if out and out[-1].strip():
                out.append("")
            out.append(f"## {line}")
            out.append("")
            continue
        starts_table = "|" in line and bool(DELIMITER_ROW.match(nxt))
        if starts_table and out and out[-1].strip():
            out.append("")
        out.append(line)
    for body in files.values():
        while body and not body[-1].strip():
            body.pop()
    return files


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    source, out_dir = Path(argv[1]), Path(argv[2])
    lines = source.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, body in convert(lines).items():
        (out_dir / name).write_text("\n".join(body) + "\n", encoding="utf-8")
        print(f"{out_dir / name}: {len(body)} lines")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
