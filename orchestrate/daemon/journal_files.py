"""Journal files used again: a retired attempt's file, emptied, becomes the next attempt's.

An attempt's journal is created on the daemon's loop before its worker starts
(see `orchestrate.recording.journal`). Creating a file costs ext4 a new inode,
and under the churn of a busy daemon (a journal made and removed per run) that
was ~0.1 ms of the loop's CPU per run. So a journal retired once the store has
all it says is not removed: in the run files' thread it is renamed to
`N.unused`, emptied and kept open, up to `KEEP` of them. A dispatch writes its
header into one and renames it into place: a write and a rename, no inode.

The header is written before the rename, so a journal is never seen without
one. An `.unused` file is no journal (recovery reads `*.journal` only), and
those a killed daemon left are removed at the next start.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import resource
from collections import deque
from pathlib import Path

from orchestrate.core.records import FlowRunRecord
from orchestrate.recording.journal import create, header_line

#: How many emptied journal files are kept for the next attempts (each an open descriptor):
#: enough for the runs dispatched while retired ones wait (`run_files.RETIRE_EVERY`), at
#: most a quarter of the descriptors the daemon may open.
KEEP = 256
UNUSED = ".unused"


class JournalFiles:
    """Creates attempts' journals (on the loop) and takes retired ones back (in a thread)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._unused: deque[tuple[str, int]] = deque()  # (path, open fd): loop pops, thread adds
        self._names = itertools.count(1)
        self.keep = min(KEEP, resource.getrlimit(resource.RLIMIT_NOFILE)[0] // 4)
        for left in folder.glob(f"*{UNUSED}"):  # a killed daemon's
            with contextlib.suppress(OSError):
                left.unlink()

    def create(self, path: Path, run: FlowRunRecord, slot: tuple[str, str, float] | None) -> None:
        """The attempt's journal with its header, at `path`; fails if it exists."""
        try:
            unused, fd = self._unused.popleft()
        except IndexError:
            create(path, run, slot)
            return
        try:
            if os.path.lexists(path):
                raise FileExistsError(f"{path} exists already")
            os.write(fd, header_line(run, slot))
            os.rename(unused, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(unused)
            raise
        finally:
            os.close(fd)

    def retire(self, path: Path) -> None:
        """`path`'s attempt is stored: keep its file, emptied, for a later one (in a thread)."""
        if len(self._unused) >= self.keep:
            path.unlink(missing_ok=True)
            return
        unused = str(self.folder / f"{next(self._names)}{UNUSED}")
        try:
            os.rename(path, unused)  # first: a kill now leaves no empty journal behind
        except FileNotFoundError:
            return
        try:
            _empty(unused)
            fd = os.open(unused, os.O_WRONLY | os.O_APPEND)
        except OSError:
            os.unlink(unused)
            raise
        self._unused.append((unused, fd))

    def close(self) -> None:
        """Remove the files kept (the daemon is stopping)."""
        while self._unused:
            unused, fd = self._unused.popleft()
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(unused)


def _empty(path: str) -> None:
    """Truncate the file to nothing, and close it here: ext4 allocates the blocks of a file
    truncated to nothing and written again when it is next closed (`auto_da_alloc`), so that
    close must be this empty one, not the one after the next attempt's header (~50 us then,
    on the loop)."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, 0)
    finally:
        os.close(fd)


__all__ = ["JournalFiles"]
