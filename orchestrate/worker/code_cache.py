"""Flow files compiled once in the zygote, so a forked worker runs code already compiled.

Under `PYTHONDONTWRITEBYTECODE` (set in many container images) Python writes no
`.pyc` for a flow file, and every worker compiled it again: ~0.5 ms of a forked
worker's CPU and ~80 page faults for a 30-line file. The daemon names the
entrypoint files a zygote's runs use; the zygote compiles each (again when it
changed) just before it forks, and a child execs that code only while the
file's modification time, size and inode are the ones compiled, so the next run
sees an edit exactly as before (Python's own `.pyc` check is weaker: whole
seconds and size).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from types import CodeType

#: The most files kept; a zygote serves one project, whose entrypoint files are few.
MAX_FILES = 64

#: The file's identity when it was read: (mtime_ns, size, inode).
Stamp = tuple[int, int, int]

_code: dict[str, tuple[Stamp, CodeType]] = {}


def warm(paths: Iterable[str]) -> None:
    """Compile each of `paths` not compiled as it is now (in the zygote, before a fork).

    A file that cannot be read or compiled is left out: its run compiles it
    itself and reports the error as a cold worker would.
    """
    for path in paths:
        try:
            stamp = _stamp(os.stat(path))
        except (OSError, ValueError):  # ValueError: a NUL in the path
            _code.pop(path, None)
            continue
        known = _code.get(path)
        if known is not None and known[0] == stamp:
            continue
        compiled = _compile(path)
        if compiled is None:
            _code.pop(path, None)
        elif path in _code or len(_code) < MAX_FILES:
            _code[path] = compiled


def cached(path: str) -> CodeType | None:
    """The code compiled from `path` if the file is still the one compiled, else None."""
    known = _code.get(path)
    if known is None:
        return None
    try:
        stamp = _stamp(os.stat(path))
    except (OSError, ValueError):
        return None
    return known[1] if known[0] == stamp else None


def _compile(path: str) -> tuple[Stamp, CodeType] | None:
    """The file's code and the stamp of what was read; None if it changed while read or does
    not compile."""
    try:
        with open(path, "rb") as file:
            before = _stamp(os.fstat(file.fileno()))
            source = file.read()
            if _stamp(os.fstat(file.fileno())) != before:
                return None
    except (OSError, ValueError):
        return None
    try:
        # as `SourceFileLoader.source_to_code` compiles a module
        return before, compile(source, path, "exec", dont_inherit=True)
    except Exception:  # SyntaxError, a NUL byte, too deep to compile: the run will say so
        return None


def _stamp(st: os.stat_result) -> Stamp:
    return (st.st_mtime_ns, st.st_size, st.st_ino)


__all__ = ["MAX_FILES", "cached", "warm"]
