"""Split Markdown notes into chunks that fit the embedding model.

Sections come from headings; each chunk keeps its heading path and its line
range. A section too long for the model is cut between blocks (list items,
paragraphs, table rows, fenced code), and a block too long by itself is cut
between lines, and a line too long by itself between words. Every non-blank
line of a note lies in at least one chunk; of a line longer than
:data:`MAX_LINE_CHARS` (a minified file, a pasted blob) only the first
:data:`MAX_LINE_CHARS` characters are indexed, which bounds the time and memory
one line can cost.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .models import Chunk
from .settings import ChunkerSettings
from .tokens import TokenCounter

_HEADING_LEVEL = re.compile(r"^h([1-6])$")

#: Characters of one line that are indexed: about 20 chunks of prose. A 9.9 MB
#: single-line note took 86 s and 2.7 GB to chunk (and its 10,000 chunks far
#: longer to embed) before lines were capped; a capped one takes well under a second.
MAX_LINE_CHARS = 20_000


def cap_lines(text: str, limit: int = MAX_LINE_CHARS) -> tuple[str, int]:
    """``text`` with every line cut to ``limit`` characters, and how many lines were cut."""
    if len(text) <= limit:
        return text, 0
    lines = text.split("\n")
    long = [i for i, line in enumerate(lines) if len(line) > limit]
    for i in long:
        lines[i] = lines[i][:limit]
    return ("\n".join(lines), len(long)) if long else (text, 0)


@dataclass(frozen=True)
class _Block:
    start: int  # 0-based, inclusive
    end: int  # 0-based, exclusive
    splittable: bool = True


@dataclass(frozen=True)
class _Section:
    heading: tuple[str, ...]
    heading_line: int | None  # 0-based first line of the heading itself
    blocks: tuple[_Block, ...]
    heading_end: int = 0  # 0-based, exclusive (a setext heading spans several lines)


@dataclass(frozen=True)
class _Unit:
    """An atomic piece: whole lines ``[start, end)`` or a part of one line."""

    start: int
    end: int
    text: str
    cost: int
    numbers: tuple[int, ...]  # 1-based file line of each line of ``text``


def _parser() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"maxNesting": 100}).enable("table")


def _table_blocks(tokens: list[Any], open_index: int, close_index: int) -> list[_Block]:
    rows = [t for t in tokens[open_index:close_index] if t.type == "tr_open" and t.map]
    table_start, table_end = tokens[open_index].map
    if not rows:
        return [_Block(table_start, table_end)]
    blocks: list[_Block] = []
    # The header row and the delimiter row stay together with the first body row.
    first_body = rows[1].map[0] if len(rows) > 1 else table_end
    blocks.append(_Block(table_start, first_body, splittable=False))
    for row in rows[1:]:
        start, end = row.map
        blocks.append(_Block(start, max(end, start + 1), splittable=False))
    if blocks[-1].end < table_end:
        blocks.append(_Block(blocks[-1].end, table_end, splittable=False))
    return blocks


def _closing_index(tokens: list[Any], open_index: int) -> int:
    level = tokens[open_index].level
    for index in range(open_index + 1, len(tokens)):
        token = tokens[index]
        if token.level == level and token.nesting == -1:
            return index
    return len(tokens) - 1


def _sections(lines: list[str], tokens: list[Any], max_heading_depth: int = 64) -> list[_Section]:
    stack: list[tuple[int, str]] = []
    sections: list[_Section] = []
    heading: tuple[str, ...] = ()
    heading_line: int | None = None
    heading_end = 0
    blocks: list[_Block] = []
    covered: set[int] = set()

    def flush() -> None:
        if blocks or heading_line is not None:
            sections.append(_Section(heading, heading_line, tuple(blocks), heading_end))

    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.level != 0 or token.map is None:
            index += 1
            continue
        start, end = token.map
        if token.type == "heading_open":
            flush()
            level_match = _HEADING_LEVEL.match(token.tag)
            level = int(level_match.group(1)) if level_match else 1
            title = " ".join(tokens[index + 1].content.split()) if index + 1 < len(tokens) else ""
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, title or lines[start].strip()))
            heading = tuple(name for _, name in stack)[-max_heading_depth:]
            heading_line, heading_end = start, max(end, start + 1)
            blocks = []
            covered.update(range(start, end))
            index = _closing_index(tokens, index) + 1
            continue
        close = _closing_index(tokens, index) if token.nesting == 1 else index
        if token.type in ("bullet_list_open", "ordered_list_open"):
            items = [
                t
                for t in tokens[index:close]
                if t.type == "list_item_open" and t.level == token.level + 1 and t.map
            ]
            for item in items:
                blocks.append(_Block(item.map[0], item.map[1]))
        elif token.type == "table_open":
            blocks.extend(_table_blocks(tokens, index, close))
        else:
            blocks.append(_Block(start, end))
        covered.update(range(start, end))
        index = close + 1
    flush()
    # Lines markdown-it gives no block (link reference definitions, content past
    # the nesting limit) still belong to the section they stand in.
    missing = [i for i, line in enumerate(lines) if line.strip() and i not in covered]
    if missing:
        sections = _add_orphans(sections, missing)
    return sections


def _add_orphans(sections: list[_Section], missing: list[int]) -> list[_Section]:
    def section_start(section: _Section) -> int:
        if section.heading_line is not None:
            return section.heading_line
        return section.blocks[0].start if section.blocks else 0

    if not sections:
        sections = [_Section((), None, ())]
    starts = [section_start(s) for s in sections]
    extra: list[list[_Block]] = [[] for _ in sections]
    for line in missing:
        owner = 0
        for position, start in enumerate(starts):
            if start <= line:
                owner = position
        extra[owner].append(_Block(line, line + 1))
    result = []
    for section, more in zip(sections, extra):
        merged = sorted((*section.blocks, *more), key=lambda b: (b.start, b.end))
        result.append(_Section(section.heading, section.heading_line, tuple(merged), section.heading_end))
    return result


class _Budget:
    """Token costs of texts, without the model's special tokens."""

    def __init__(self, counter: TokenCounter) -> None:
        self.counter = counter
        self.specials = counter.count([""])[0]

    def costs(self, texts: Sequence[str]) -> list[int]:
        return [max(0, n - self.specials) for n in self.counter.count(texts)]


def _split_line(text: str, line: int, budget: int, meter: _Budget) -> list[_Unit]:
    """Cut one over-long line between words (or inside a word if it must)."""
    words = re.findall(r"\S+\s*", text) or [text]
    costs = meter.costs(words)
    pieces: list[_Unit] = []
    current: list[str] = []
    current_cost = 0
    for word, cost in zip(words, costs):
        if cost > budget:  # one enormous "word": cut it by characters
            if current:
                pieces.append(_Unit(line, line + 1, "".join(current).rstrip(), current_cost, (line + 1,)))
                current, current_cost = [], 0
            step = max(1, len(word) * budget // (cost + 1))
            for offset in range(0, len(word), step):
                part = word[offset : offset + step]
                pieces.append(_Unit(line, line + 1, part, meter.costs([part])[0], (line + 1,)))
            continue
        if current and current_cost + cost > budget:
            pieces.append(_Unit(line, line + 1, "".join(current).rstrip(), current_cost, (line + 1,)))
            current, current_cost = [], 0
        current.append(word)
        current_cost += cost
    if current:
        pieces.append(_Unit(line, line + 1, "".join(current).rstrip(), current_cost, (line + 1,)))
    return [p for p in pieces if p.text.strip()]


def _trimmed(lines: list[str], start: int, end: int) -> tuple[int, int]:
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return start, end


def _units(lines: list[str], section: _Section, budget: int, meter: _Budget) -> list[_Unit]:
    spans: list[tuple[int, int]] = []
    if section.heading_line is not None:
        spans.append((section.heading_line, max(section.heading_end, section.heading_line + 1)))
    spans.extend(_trimmed(lines, block.start, block.end) for block in section.blocks)
    spans = [(s, e) for s, e in spans if e > s]
    texts = ["\n".join(lines[s:e]) for s, e in spans]
    costs = meter.costs(texts)
    units: list[_Unit] = []
    for (start, end), text, cost in zip(spans, texts, costs):
        if cost <= budget:
            units.append(_Unit(start, end, text, cost, tuple(range(start + 1, end + 1))))
            continue
        line_numbers = [i for i in range(start, end) if lines[i].strip()]
        line_costs = meter.costs([lines[i] for i in line_numbers])
        for i, line_cost in zip(line_numbers, line_costs):
            if line_cost <= budget:
                units.append(_Unit(i, i + 1, lines[i], line_cost, (i + 1,)))
            else:
                units.extend(_split_line(lines[i], i, budget, meter))
    return units


def _pack(units: list[_Unit], budget: int, overlap: int) -> list[list[_Unit]]:
    groups: list[list[_Unit]] = []
    current: list[_Unit] = []
    cost = 0
    for unit in units:
        if current and cost + unit.cost > budget:
            groups.append(current)
            carried: list[_Unit] = []
            if overlap > 0:
                tail = current[-overlap:]
                tail_cost = sum(u.cost for u in tail)
                if tail_cost + unit.cost <= budget and tail_cost <= budget // 4:
                    carried = list(tail)
            current = carried
            cost = sum(u.cost for u in current)
        current.append(unit)
        cost += unit.cost
    if current:
        groups.append(current)
    return groups


def chunk_id(path: str, heading: tuple[str, ...], text: str) -> str:
    digest = hashlib.sha256("\x1f".join((path, "\x1e".join(heading), text)).encode("utf-8"))
    return digest.hexdigest()[:20]


def _fit_heading(heading: tuple[str, ...], limit: int, meter: _Budget) -> tuple[str, ...]:
    """Drop outer headings until the heading path costs at most ``limit`` tokens."""
    while heading and meter.costs([" > ".join(heading) + "\n"])[0] > limit:
        if len(heading) == 1:
            words = heading[0].split()
            return (" ".join(words[: max(1, limit // 4)]),)
        heading = heading[1:]
    return heading


def chunk_document(
    path: str,
    text: str,
    counter: TokenCounter,
    settings: ChunkerSettings = ChunkerSettings(),
) -> list[Chunk]:
    """Chunk one Markdown document. ``path`` is how chunks name the file."""
    text, _ = cap_lines(text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = text.split("\n")
    tokens = _parser().parse(text)
    meter = _Budget(counter)
    limit = min(settings.target_tokens, settings.max_tokens) - meter.specials
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    sections = _sections(lines, tokens)
    carried: list[_Unit] = []  # heading lines of empty parent sections
    for position, section in enumerate(sections):
        heading = _fit_heading(section.heading, limit // 2, meter)
        heading_cost = meter.costs([" > ".join(heading) + "\n"])[0] if heading else 0
        budget = max(8, limit - heading_cost)
        units = _units(lines, section, budget, meter)
        following = sections[position + 1] if position + 1 < len(sections) else None
        if (
            not section.blocks
            and following is not None
            and following.heading[: len(section.heading)] == section.heading
            and len(following.heading) > len(section.heading)
        ):
            # "# Cache" directly followed by "## ElastiCache": the bare heading
            # line joins the first chunk of its first subsection.
            carried.extend(units)
            continue
        if carried and (not units or sum(u.cost for u in carried) + units[0].cost <= budget):
            units = carried + units
        elif carried:
            chunks.extend(_emit(path, heading, carried, counter, settings, seen))
        carried = []
        for group in _pack(units, budget, settings.overlap_blocks):
            chunks.extend(_emit(path, heading, group, counter, settings, seen))
    return chunks


def _emit(
    path: str,
    heading: tuple[str, ...],
    group: list[_Unit],
    counter: TokenCounter,
    settings: ChunkerSettings,
    seen: dict[str, int],
) -> Iterable[Chunk]:
    body = "\n".join(unit.text for unit in group)
    numbers = tuple(n for unit in group for n in unit.numbers)
    start = min(unit.start for unit in group) + 1
    end = max(unit.end for unit in group)
    cid = chunk_id(path, heading, body)
    seen[cid] = seen.get(cid, 0) + 1
    if seen[cid] > 1:
        cid = f"{cid}-{seen[cid]}"
    chunk = Chunk(cid, path, heading, start, end, body, numbers)
    if len(group) > 1 and counter.count([chunk.embed_text()])[0] > settings.max_tokens:
        # The tokenizer was not additive across the joins: halve and retry.
        middle = len(group) // 2
        yield from _emit(path, heading, group[:middle], counter, settings, seen)
        yield from _emit(path, heading, group[middle:], counter, settings, seen)
        return
    yield chunk
