"""What the app remembers between runs: earlier questions, the ranking mode, the theme.

One JSON file, ``tui.json``, in the user's state folder: ``$NOTES_QA_STATE``,
else ``$XDG_STATE_HOME/notes-qa``, else ``~/.local/state/notes-qa``. It is
written atomically (a temporary file, then a rename), so a crash leaves the old
file or the new one. A file that cannot be read or makes no sense is ignored
with a note (the app starts afresh and writes a good one next time); no pickle.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from indexer.fileio import atomic_write_text

FILE_NAME = "tui.json"
FORMAT = "notes-qa-tui-state"
VERSION = 1
#: Questions kept (the oldest are dropped first), and the longest question kept.
HISTORY_LIMIT = 200
QUESTION_MAX_CHARS = 2000
#: A larger file is not ours (a full history is well under 1 MB).
MAX_BYTES = 2_000_000


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """The user's state folder for notes-qa (not created here)."""
    env = os.environ if env is None else env
    if env.get("NOTES_QA_STATE"):
        return Path(env["NOTES_QA_STATE"])
    base = env.get("XDG_STATE_HOME", "")
    if not os.path.isabs(base):  # the XDG spec: a relative value is ignored
        base = str(Path.home() / ".local" / "state")
    return Path(base) / "notes-qa"


@dataclass(frozen=True)
class UiState:
    history: tuple[str, ...] = ()
    mode: str | None = None
    theme: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"format": FORMAT, "version": VERSION, "history": list(self.history[-HISTORY_LIMIT:]),
                "mode": self.mode, "theme": self.theme}


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_state(data: object) -> UiState:
    """A ``UiState`` from decoded JSON; raises ValueError if it is not one."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("not a notes-qa state file")
    if data.get("version") != VERSION:
        raise ValueError(f"state version {data.get('version')!r}, expected {VERSION}")
    history = data.get("history", [])
    if not isinstance(history, list):
        raise ValueError("history is not a list")
    questions = tuple(q for q in history if isinstance(q, str) and q.strip() and len(q) <= QUESTION_MAX_CHARS)
    return UiState(questions[-HISTORY_LIMIT:], _text_or_none(data.get("mode")), _text_or_none(data.get("theme")))


class StateFile:
    """``load`` and ``save`` of one state file; neither raises, both report problems as text."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / FILE_NAME

    def load(self) -> tuple[UiState, str | None]:
        """The saved state (empty if there is none), and a note if the file was unusable."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return UiState(), None
        except OSError as exc:
            return UiState(), f"cannot read the saved history and settings in {self.path} ({exc.strerror}); starting afresh"
        try:
            if len(raw) > MAX_BYTES:
                raise ValueError(f"{len(raw)} bytes, more than a state file ever holds")
            return parse_state(json.loads(raw.decode("utf-8"))), None
        except (ValueError, UnicodeDecodeError) as exc:
            return UiState(), (f"the saved history and settings in {self.path} are damaged ({exc}); "
                               "starting afresh, the file will be replaced")

    def save(self, state: UiState) -> str | None:
        """Write ``state`` atomically; a note if it could not be written (the app goes on without)."""
        try:
            atomic_write_text(self.path, json.dumps(state.to_json(), indent=1, ensure_ascii=False) + "\n")
        except OSError as exc:
            return f"cannot save the history and settings in {self.path} ({exc.strerror or exc}); they will not be kept"
        return None
