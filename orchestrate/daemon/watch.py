"""Watching `flows.toml` and the source folders, so edits apply without a restart.

A config edit is reloaded as a diff (see `Daemon.reload`); a source edit needs
nothing more than a log line, because every run starts a fresh worker that
imports the code as it is now. The state folder `.orc/` is never watched:
the store writes there all the time.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

log = logging.getLogger("orc.daemon")


def _interesting(root: Path) -> Callable[[object, str], bool]:
    state = str(root / ".orc")

    def keep(change: object, path: str) -> bool:
        if path.startswith(state) or "__pycache__" in path or "/.git/" in path:
            return False
        return path.endswith((".py", ".toml"))

    return keep


async def watch(
    root: Path,
    config_path: Path,
    folders: list[Path],
    on_config: Callable[[], Awaitable[None]],
    stop: Callable[[], bool],
) -> None:
    """Call `on_config` after each edit of the config file; log source edits."""
    from watchfiles import awatch

    paths = sorted({config_path.parent, *[f for f in folders if f.exists()]})
    async for changes in awatch(
        *paths,
        watch_filter=_interesting(root),
        debounce=200,
        step=50,
        recursive=True,
        stop_event=None,
    ):
        if stop():
            return
        changed = {Path(p) for _, p in changes}
        if config_path in changed:
            await on_config()
        sources = sorted(
            str(p.relative_to(root))
            for p in changed
            if p.suffix == ".py" and p.is_relative_to(root)
        )
        if sources:
            log.info(
                "source changed (%s); the next run of each flow uses it", ", ".join(sources[:5])
            )
