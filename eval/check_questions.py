#!/usr/bin/env python3
"""Validate eval/questions.jsonl against the source notes file (stdlib only).

Usage: python eval/check_questions.py [NOTES_PATH] [QUESTIONS_PATH]

NOTES_PATH defaults to ../shared/notes/000_7235ff98d3537bbe.txt relative to the
repository root; QUESTIONS_PATH defaults to eval/questions.jsonl.

Checks, for every question:
  * required fields with the right types, unique ids, a known style;
  * 1-3 evidence strings, each a verbatim substring of ONE line of the notes;
  * the heading is "Top section > Service title" as it appears in the notes
    (top titles "=== X ===" are title-cased, e.g. "Data (Stream)");
  * at least one evidence string occurs on a line under that heading.
Evidence strings that also occur under other headings are reported as
warnings (they do not fail the check).
Prints counts per style and per top section; exits 1 on any failure.
"""
import json
import re
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_NOTES = REPO.parent / "shared" / "notes" / "000_7235ff98d3537bbe.txt"
DEFAULT_QUESTIONS = REPO / "eval" / "questions.jsonl"
STYLES = ("keyword", "paraphrase", "scenario")
REQUIRED = {"id": str, "question": str, "evidence": list, "style": str, "heading": str}
MIN_EVIDENCE_WORDS = 3  # the brief asks for ~4 words; allow a little slack
MIN_EVIDENCE_CHARS = 20  # ...or a long enough token, e.g. "durable (99.999999999%)"
TOP_RE = re.compile(r"^=== (.+) ===$")


def is_title(line):
    """A service title line: not a bullet, not a table row, starts uppercase."""
    s = line.strip()
    return bool(s) and not s.startswith("- ") and "|" not in s and s[0].isupper()


def load_notes(path):
    """Return a list of (line, heading_path) for every line of the notes."""
    out = []
    top = sub = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        m = TOP_RE.match(raw.strip())
        if m:
            top, sub = m.group(1).title(), None
            out.append((raw, top))
            continue
        if top is not None and is_title(raw):
            sub = raw.strip()
        heading = f"{top} > {sub}" if top and sub else (top or "")
        out.append((raw, heading))
    return out


def main(argv):
    notes_path = Path(argv[1]) if len(argv) > 1 and argv[1] else DEFAULT_NOTES
    q_path = Path(argv[2]) if len(argv) > 2 and argv[2] else DEFAULT_QUESTIONS
    notes = load_notes(notes_path)
    headings = {h for _, h in notes if " > " in h}

    errors, warnings = [], []
    styles, tops, subs = Counter(), Counter(), Counter()
    seen_ids, seen_questions = set(), set()
    n = 0
    for lineno, raw in enumerate(q_path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        where = f"{q_path.name}:{lineno}"
        try:
            q = json.loads(raw)
        except json.JSONDecodeError as e:
            errors.append(f"{where}: invalid JSON ({e})")
            continue
        n += 1
        if not isinstance(q, dict):
            errors.append(f"{where}: not a JSON object")
            continue
        bad = [k for k, t in REQUIRED.items() if not isinstance(q.get(k), t)]
        if bad:
            errors.append(f"{where}: missing/invalid field(s) {bad}")
            continue
        extra = set(q) - set(REQUIRED)
        if extra:
            warnings.append(f"{where}: extra field(s) {sorted(extra)}")
        qid = q["id"]
        where = f"{where} ({qid})"
        if not re.fullmatch(r"q\d{3,}", qid):
            errors.append(f"{where}: id should look like q001")
        if qid in seen_ids:
            errors.append(f"{where}: duplicate id")
        seen_ids.add(qid)
        if not q["question"].strip():
            errors.append(f"{where}: empty question")
        if q["question"].strip().lower() in seen_questions:
            errors.append(f"{where}: duplicate question text")
        seen_questions.add(q["question"].strip().lower())
        if q["style"] not in STYLES:
            errors.append(f"{where}: style {q['style']!r} not in {STYLES}")
        styles[q["style"]] += 1
        heading = q["heading"]
        tops[heading.split(" > ")[0]] += 1
        subs[heading] += 1
        if heading not in headings:
            errors.append(f"{where}: unknown heading {heading!r}")

        ev = q["evidence"]
        if not 1 <= len(ev) <= 3:
            errors.append(f"{where}: expected 1-3 evidence strings, got {len(ev)}")
        in_heading = False
        for e in ev:
            if not isinstance(e, str) or not e.strip():
                errors.append(f"{where}: empty/non-string evidence")
                continue
            if "\n" in e:
                errors.append(f"{where}: evidence spans lines: {e!r}")
                continue
            if len(e.split()) < MIN_EVIDENCE_WORDS and len(e) < MIN_EVIDENCE_CHARS:
                errors.append(f"{where}: evidence too short: {e!r}")
            hits = {h for line, h in notes if e in line}
            if not hits:
                errors.append(f"{where}: evidence not found verbatim: {e!r}")
                continue
            if heading in hits:
                in_heading = True
            others = hits - {heading}
            if others:
                warnings.append(f"{where}: evidence {e!r} also under {sorted(others)}")
        if ev and not in_heading and heading in headings:
            errors.append(f"{where}: no evidence string occurs under heading {heading!r}")
        if q["question"].strip() in {e.strip() for e in ev if isinstance(e, str)}:
            errors.append(f"{where}: question copies the evidence verbatim")

    print(f"questions: {n}")
    print("per style:")
    for s in STYLES:
        pct = 100 * styles[s] / n if n else 0
        print(f"  {s:<11}{styles[s]:>4}  ({pct:.0f}%)")
    print("per top section:")
    for t, c in sorted(tops.items()):
        print(f"  {t:<15}{c:>4}")
    uncovered = sorted(headings - set(subs))
    print(f"headings covered: {len(set(subs) & headings)}/{len(headings)}")
    if uncovered:
        print("  not covered: " + "; ".join(uncovered))
    for w in warnings:
        print("WARNING: " + w)
    for e in errors:
        print("ERROR: " + e)
    if n < 100:
        print(f"ERROR: only {n} questions (need >= 100)")
        return 1
    if errors:
        print(f"FAILED: {len(errors)} error(s)")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
