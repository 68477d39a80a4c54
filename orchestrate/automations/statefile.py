"""The engine's memory in a file, so that a restart of `orc up` keeps pauses, counts and deadlines.

`StateKeeper` writes `engine.snapshot()` to `.orc/automations.json` some time
after a change (debounced: at 10,000 events a second the file is written about
once a second, not per event), right away after a pause or resume, before a
firing's actions run, and on shutdown; it restores the file on start. Writes are atomic (a 0600 temp file,
then `os.replace`), so a crash mid-write leaves the previous snapshot. A
missing file means a first start; an unreadable one is reported and the
automations start fresh, never stopping the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from orchestrate.automations.engine import AutomationEngine
from orchestrate.core.jsonvalues import json_default

#: The longest a change waits before it is written.
SAVE_DELAY = 1.0
#: A save waits at least this many times as long as the last one took: saving a large
#: state never takes more than a small share of the daemon's loop.
_SAVE_SHARE = 20

_log = logging.getLogger("orc.automations")


def read_snapshot(path: Path) -> Any | None:
    """The snapshot saved at `path`, or None if there is none.

    Raises:
        ValueError: the file cannot be read or is not JSON.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(str(exc)) from exc
    return json.loads(text)


def write_snapshot(path: Path, text: str) -> None:
    """Replace `path` with `text` atomically; the file is readable by its owner only."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class StateKeeper:
    """Keeps `path` in step with what `engine` remembers; call `changed()` after feeding it.

    Args:
        engine: the automations engine whose state is kept.
        path: the file, e.g. `.orc/automations.json`; its folder must exist.
        delay: the longest a change waits before it is written.
        log: where restores and failed writes are reported.
    """

    def __init__(
        self,
        engine: AutomationEngine,
        path: Path,
        delay: float = SAVE_DELAY,
        log: logging.Logger = _log,
    ) -> None:
        self.engine = engine
        self.path = path
        self.log = log
        self._delay = self._base_delay = delay
        self._saved = engine.revision
        self._timer: asyncio.TimerHandle | None = None
        self._saving: asyncio.Task[None] | None = None
        self._soon_after = False
        self._failing = False
        self._closed = False
        #: how many times the file was written
        self.saves = 0

    def restore(self) -> None:
        """Take back the saved state; a missing or unreadable file leaves a fresh start."""
        try:
            saved = read_snapshot(self.path)
            if saved is None:
                return
            result = self.engine.restore(saved)
        except ValueError as exc:
            self.log.warning("%s is unreadable (%s); automations start fresh", self.path, exc)
            return
        self._saved = self.engine.revision
        self.log.info("automations: state of %d restored from %s", len(result.restored), self.path)
        if result.changed:
            names = ", ".join(result.changed)
            self.log.info("automations changed since the last run start fresh: %s", names)
        if result.unreadable:
            names = ", ".join(result.unreadable)
            self.log.warning("automations with unreadable saved state start fresh: %s", names)

    def changed(self, *, soon: bool = False) -> None:
        """Schedule a save if the engine changed; `soon` for what must not wait (pause, resume)."""
        if self._closed or self.engine.revision == self._saved:
            return
        if self._saving is not None:
            self._soon_after = self._soon_after or soon  # the save in flight may predate it
            return
        if self._timer is not None:
            if not soon:
                return
            self._timer.cancel()
        delay = 0.0 if soon else self._delay
        self._timer = asyncio.get_running_loop().call_later(delay, self._start_save)

    async def saved(self) -> None:
        """Return once what the engine remembers now is on disk (or a write failed, as logged).

        A firing's actions wait on this: a kill of `orc up` right after an action must not
        leave a file from before the firing, which would count its events towards another.
        """
        target = self.engine.revision
        while not self._closed and self._saved < target:
            if self._saving is None:
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
                self._start_save()
            assert self._saving is not None
            await asyncio.shield(self._saving)
            if self._failing:
                return  # the action must not wait on a full disk; the failure is logged

    def _start_save(self) -> None:
        self._timer = None
        self._saving = asyncio.get_running_loop().create_task(self._save())

    async def _save(self) -> None:
        try:
            began = time.perf_counter()
            revision, text = self.engine.revision, self._text()
            await asyncio.to_thread(write_snapshot, self.path, text)
            self._wrote(revision, time.perf_counter() - began)
        except OSError as exc:
            self._write_failed(exc)
        except Exception:
            self.log.exception("automations: saving their state to %s failed", self.path)
        finally:
            self._saving = None
        soon, self._soon_after = self._soon_after, False
        self.changed(soon=soon)  # what changed while writing gets its own save

    def _text(self) -> str:
        return json.dumps(self.engine.snapshot(), default=json_default, separators=(",", ":"))

    def _wrote(self, revision: int, took: float) -> None:
        self._saved = revision
        self.saves += 1
        self._delay = max(self._base_delay, _SAVE_SHARE * took)
        if self._failing:
            self._failing = False
            self.log.info("automations: state saved to %s again", self.path)

    def _write_failed(self, exc: OSError) -> None:
        if not self._failing:
            self.log.warning("automations: could not save their state to %s: %s", self.path, exc)
        self._failing = True

    async def close(self) -> None:
        """Write the state one last time (on shutdown); later changes are not saved."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._saving is not None:
            await asyncio.gather(self._saving, return_exceptions=True)
        try:
            write_snapshot(self.path, self._text())
            self.saves += 1
        except OSError as exc:
            self._write_failed(exc)
