"""The daemon's threads under their Python names in the OS, for `top -H`, `ps -L` and /proc.

CPython 3.11 leaves every thread named after the process (`orc`), so a busy
thread cannot be told from another from outside. Each thread started after
`name_threads()` gives itself its name (cut to the kernel's 15 bytes) once, on
its first call, and then drops the hook; DuckDB's own threads keep `orc`.
"""

from __future__ import annotations

import sys
import threading
from types import FrameType
from typing import Any


def name_threads() -> None:
    """Name the threads started from now on (the store's writer, the executors', the queries')."""
    threading.setprofile(_name_this_thread)


def _name_this_thread(frame: FrameType, event: str, arg: Any) -> None:
    sys.setprofile(None)  # once per thread: a profile hook costs every call after
    try:
        with open("/proc/thread-self/comm", "w") as comm:
            comm.write(threading.current_thread().name[:15])
    except OSError:
        pass  # not Linux, or /proc not mounted: the names are only a help
