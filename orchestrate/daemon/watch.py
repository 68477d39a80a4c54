"""Watching `flows.toml` and the source folders, so edits apply without a restart.

A config edit is reloaded as a diff (see `Daemon.reload`); a source edit needs
nothing more than a log line, because every run starts a fresh worker that
imports the code as it is now.

The config file is also looked at every `CONFIG_POLL` seconds (its size, times
and inode, through a link): a save no watch event tells of still applies, once
the file has held still for one look. That is a flows.toml linked from a file
kept elsewhere, edited where it is kept, and a save made while `orc up` was
starting, after it read the file and before its watch began.

The project's root is watched on its own, not recursively, and each of its
folders recursively, except the state folder `.orc/`, version control,
caches and virtual environments. The store, the journals and the pid files
change in `.orc/` with every run: watched, each change was an inotify event,
work for watchfiles' thread and a line of Python to filter it out, over
~100 runs/s. A folder made at the root later is watched from then on.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from orchestrate.core.project import STATE_DIR

log = logging.getLogger("orc.daemon")

#: Folders at the project's root never watched: orc's state, version control, caches.
SKIPPED = frozenset(
    f"{STATE_DIR} .git .hg .svn __pycache__ node_modules .tox .nox .mypy_cache .pytest_cache "
    ".ruff_cache .hypothesis .idea .vscode".split()
)

#: How watchfiles groups changes: wait this long for more after one, checking this often.
DEBOUNCE_MS = 200
STEP_MS = 50

#: How often the config file is looked at for a save no watch event told of (seconds).
CONFIG_POLL = 2.0

Changes = set[tuple[Any, str]]
#: What tells one save of a file from another: its mtime, size, inode and device.
Signature = tuple[int, int, int, int]


def signature(path: Path) -> Signature | None:
    """`path`'s signature (through a link, the file it points to); None if it cannot be read."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_mtime_ns, found.st_size, found.st_ino, found.st_dev)


def _interesting(root: Path) -> Callable[[object, str], bool]:
    state = str(root / STATE_DIR)

    def keep(change: object, path: str) -> bool:
        if path.startswith(state) or "__pycache__" in path or "/.git/" in path:
            return False
        return path.endswith((".py", ".toml"))

    return keep


def watched_folders(root: Path, extra: Iterable[Path] = ()) -> list[Path]:
    """The folders watched recursively: the root's own, but `SKIPPED` ones and virtual
    environments, and the config's `watch` folders that are not among them already."""
    try:
        found = [p for p in root.iterdir() if _worth_watching(p)]
    except OSError:
        found = []
    more = [p for p in extra if p != root and p.is_dir() and not _inside(p, found)]
    return sorted({*found, *more})


def _worth_watching(path: Path) -> bool:
    try:
        return (
            path.name not in SKIPPED
            and path.is_dir()
            and not path.is_symlink()
            and not (path / "pyvenv.cfg").exists()  # a virtual environment
        )
    except OSError:
        return False  # gone since listed, or not ours to read


def _inside(path: Path, folders: list[Path]) -> bool:
    return any(path.is_relative_to(folder) for folder in folders)


async def watch(
    root: Path,
    config_path: Path,
    folders: list[Path],
    on_config: Callable[[], Awaitable[None]],
    stop: Callable[[], bool],
    seen: Callable[[], Signature | None],
) -> None:
    """Call `on_config` after each edit of the config file; log source edits. `seen` gives the
    signature of the config file as it was last read (`on_config` takes it before it reads)."""
    await _Watch(root, config_path, folders, on_config, stop, seen).run()


class _Watch:
    """The root's own entries in one watch, its folders in another, renewed when they change."""

    def __init__(
        self,
        root: Path,
        config_path: Path,
        folders: list[Path],
        on_config: Callable[[], Awaitable[None]],
        stop: Callable[[], bool],
        seen: Callable[[], Signature | None],
    ) -> None:
        self.root = root
        self.config_path = config_path
        self.folders = folders
        self.on_config = on_config
        self.stop = stop
        self.seen = seen
        self.keep = _interesting(root)
        self.watched: list[Path] = []
        self.regrow = asyncio.Event()  # set when a folder comes or goes at the root

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self._top())
            group.create_task(self._deep())
            group.create_task(self._poll())

    async def _poll(self) -> None:
        """Reload a config file that changed with no event, once it has held still for a poll
        (a file still being written is not read half-way)."""
        pending: Signature | None = None
        while not self.stop():
            await asyncio.sleep(CONFIG_POLL)
            now = signature(self.config_path)
            if now == self.seen() or self.stop():
                pending = None
            elif now != pending:
                pending = now
            else:
                log.info("%s changed with no watch event; reloading it", self.config_path.name)
                await self.on_config()

    async def _top(self) -> None:
        tops = sorted({self.root, self.config_path.parent})
        async for changes in _changes(tops, recursive=False):
            if any(_regrows(Path(p), self.watched) for _, p in changes):
                self.regrow.set()
            await self._changed(changes)

    async def _deep(self) -> None:
        while not self.stop():
            self.regrow.clear()
            self.watched = watched_folders(self.root, self.folders)
            if not self.watched:
                await self.regrow.wait()
                continue
            async for changes in _changes(self.watched, recursive=True, end=self.regrow):
                await self._changed(changes)

    async def _changed(self, changes: Changes) -> None:
        paths = {Path(p) for c, p in changes if self.keep(c, p)}
        if not paths or self.stop():
            return
        if self.config_path in paths:
            await self.on_config()
        root = self.root
        sources = sorted(
            str(p.relative_to(root)) for p in paths if p.suffix == ".py" and p.is_relative_to(root)
        )
        if sources:
            log.info(
                "source changed (%s); the next run of each flow uses it", ", ".join(sources[:5])
            )


def _regrows(path: Path, watched: list[Path]) -> bool:
    """Whether a change at the root changes the folders to watch under it."""
    return path in watched or (path.name not in SKIPPED and path.is_dir())


async def _changes(
    paths: list[Path], *, recursive: bool, end: asyncio.Event | None = None
) -> AsyncIterator[Changes]:
    """watchfiles' batches of changes under `paths`, until `end` is set."""
    from watchfiles import awatch

    async for changes in awatch(
        *paths,
        watch_filter=None,
        debounce=DEBOUNCE_MS,
        step=STEP_MS,
        recursive=recursive,
        stop_event=end,
    ):
        yield changes
