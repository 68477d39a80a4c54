"""Where the store's writer says its troubles: the process's log in a daemon, stderr elsewhere.

A flow run from plain Python has no log of orc's to read, so a full disk must
reach the terminal; `orc up` has one, and says there instead.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback

log = logging.getLogger("orc.store")

_THROUGH_LOGGING = False


def report_through_logging() -> None:
    """Say the writer's troubles in the process's log (`orc up` has one) instead of on stderr."""
    global _THROUGH_LOGGING
    _THROUGH_LOGGING = True


def say(level: int, message: str, exc: BaseException | None = None) -> None:
    """Log under `orc.store` where the process has a log (the daemon's), else say it on stderr."""
    if _THROUGH_LOGGING:
        log.log(level, message, exc_info=exc)
        return
    with contextlib.suppress(Exception):
        text = f"orc: {message}"
        if exc is not None:
            text += "\n" + "".join(traceback.format_exception(exc)).rstrip()
        print(text, file=sys.stderr, flush=True)
