"""What changed among the notes since a build: one frozen record for the build, ``watch``, ``verify`` and the app."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NoteChanges:
    """Notes added, modified or deleted since the index was built, relative to the corpus (forward slashes)."""

    added: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.modified or self.deleted)

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(sorted({*self.added, *self.modified, *self.deleted}))

    def touches(self, note: str) -> bool:
        """Did ``note`` (a corpus-relative path) change?"""
        return note in self.paths

    def describe(self) -> str:
        """E.g. ``cache.md changed; old.md deleted``."""
        parts = []
        for label, names in (("added", self.added), ("changed", self.modified), ("deleted", self.deleted)):
            if names:
                shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
                parts.append(f"{shown} {label}")
        return "; ".join(parts) or "nothing changed"
