"""The ``notes-qa`` command line. Run ``notes-qa --help``."""

from __future__ import annotations

import sys

from .main import main

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
