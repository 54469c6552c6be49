"""The ``notes-qa`` command line. Run ``notes-qa --help``.

``main`` is the process entry (the ``notes-qa`` script and ``python -m notes_qa_cli``):
it takes over Ctrl+C before anything else happens, then runs the command
(:func:`notes_qa_cli.main.main`, which tests call in-process).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from .interrupts import MESSAGE, Interrupts

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``notes-qa`` as a process: every outcome is an exit code and at most one line on stderr."""
    interrupts = Interrupts().install()  # first: before argument parsing and every heavy import
    try:
        from . import stdio
        from .main import main as run

        stdio.prepare()
        code = run(argv, interrupts)
        stdio.flush()
        return code
    except BaseException as exc:
        return _exit_code(exc, interrupts)
    finally:
        interrupts.finish()


def _exit_code(exc: BaseException, interrupts: Interrupts) -> int:
    """The exit code for what escaped the command (see ``notes_qa_cli.main.main`` for the rest)."""
    if interrupts.received or isinstance(exc, KeyboardInterrupt):
        interrupts.finish()
        _say(MESSAGE)
        return 130
    from indexer.errors import NotesQAError

    from . import stdio

    if isinstance(exc, SystemExit):  # --help, --version, a usage error: argparse printed and exits
        try:
            stdio.flush()
        except BaseException as late:  # the output failed after all (or Ctrl+C came meanwhile)
            return _exit_code(late, interrupts)
        raise exc
    if isinstance(exc, BrokenPipeError):
        stdio.discard()
        return 0
    if isinstance(exc, NotesQAError):  # stdout closed at start, or full at the last flush
        for line in exc.lines():
            _say(line)
        return exc.exit_code
    raise exc


def _say(line: str) -> None:
    if sys.stderr is not None:  # closed (2>&-) before stdio.prepare() could fill it: the exit code tells
        print(line, file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
