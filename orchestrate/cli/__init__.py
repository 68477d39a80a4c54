"""The `orc` command line. Kept light: each command imports what it needs when it runs.

Exit codes are defined in `orchestrate.cli.exits` and listed in `orc --help`.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Entry point of the `orc` console script."""
    from orchestrate.cli.app import app
    from orchestrate.cli.exits import report
    from orchestrate.errors import OrcError

    try:
        app(prog_name="orc")
    except OrcError as error:
        sys.exit(report(error))


__all__ = ["main"]
