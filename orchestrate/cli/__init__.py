"""The `orc` command line. Kept light: each command imports what it needs when it runs.

Exit codes are defined in `orchestrate.cli.exits` and listed in `orc --help`.
"""

from __future__ import annotations

import gc
import sys


def main() -> None:
    """Entry point of the `orc` console script."""
    try:
        _main()
    except BrokenPipeError:
        _reader_gone()
    except KeyboardInterrupt:  # Ctrl-C while waiting on the daemon: no traceback, as click
        from orchestrate.cli.exits import INTERRUPTED

        print(file=sys.stderr)
        sys.exit(INTERRUPTED)


def _reader_gone() -> None:
    """What reads orc's output went away (`orc status | head -1`): stop without a traceback,
    exit 1, as click does for the commands it runs."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # the interpreter's last flush must not fail again
    sys.exit(1)


def _main() -> None:
    from orchestrate.core.errors import OrcError

    try:
        from orchestrate.cli.lean import handle

        code = handle(sys.argv[1:])
    except OrcError as error:
        from orchestrate.cli.exits import report

        sys.exit(report(error))
    if code is not None:
        sys.exit(code)
    # Importing typer, pydantic and rich allocates a lot and frees almost nothing:
    # collecting while they load, and again over them at exit, costs a short
    # command ~45 ms of ~330. They live as long as the process, so they are frozen.
    gc.disable()
    try:
        from orchestrate.cli.app import app
        from orchestrate.cli.exits import report
    finally:
        gc.freeze()
        gc.enable()

    try:
        app(prog_name="orc")
    except OrcError as error:
        sys.exit(report(error))


__all__ = ["main"]
