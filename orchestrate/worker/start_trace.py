"""Timestamps of a run's start, step by step, when `ORC_START_TRACE` names a file.

A run's start crosses the daemon, a zygote and a worker; this is how its
steps are timed without a profiler (`bench/daemon.py --trace`). Off by
default: `mark` is then one attribute test.
"""

from __future__ import annotations

import os
import time

#: The file marks are appended to, read once at import (so a zygote's children keep it
#: after their environment is replaced by their run's).
PATH = os.environ.get("ORC_START_TRACE") or None


def mark(step: str) -> None:
    """Append `pid time cpu-ms step` to the trace file, if tracing."""
    if PATH is None:
        return
    line = f"{os.getpid()} {time.time():.6f} {time.process_time() * 1000:.3f} {step}\n".encode()
    fd = os.open(PATH, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


__all__ = ["PATH", "mark"]
