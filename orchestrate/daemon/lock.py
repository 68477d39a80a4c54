"""One daemon per project: an exclusive lock on `.orc/daemon.lock`, holding the pid.

The kernel drops an flock when its process dies, even by `kill -9`, so a
stale lock file never blocks the next `orc up`.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from orchestrate.core.errors import DaemonAlreadyRunning
from orchestrate.core.project import state_dir


class DaemonLock:
    """Held for the life of `orc up`; `acquire` refuses when another process holds it."""

    def __init__(self, root: Path) -> None:
        self.path = state_dir(root) / "daemon.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise DaemonAlreadyRunning(
                f"orc up is already running for {self.path.parent.parent} (pid {holder}). "
                f"Stop it first (kill {holder}) or use that one: `orc status`."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.ftruncate(fd, 0)
            os.close(fd)


def holder_pid(root: Path) -> int | None:
    """The pid of the daemon holding `root`, or None when none runs."""
    path = root / ".orc" / "daemon.lock"
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
        return int(text) if text.isdigit() else None
    else:
        return None  # we got the lock: nobody holds it
    finally:
        os.close(fd)


def wait_released(root: Path, timeout: float) -> bool:
    """Wait until no daemon holds `root` (its process has let go of the lock); False on timeout.

    The kernel wakes a blocked flock the moment the holder exits, so this
    waits on the lock itself rather than polling a pid.
    """
    import threading

    path = root / ".orc" / "daemon.lock"
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return True
    released = threading.Event()

    def take() -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            released.set()
        finally:
            os.close(fd)

    threading.Thread(target=take, name="orc-down-wait", daemon=True).start()
    return released.wait(timeout)


def wait_gone(root: Path, pid: int, timeout: float) -> bool:
    """Wait until the daemon process `pid` of `root` has exited; False on timeout.

    A pidfd turns readable when the process ends; where there is none (an old
    kernel) the lock's release, the daemon's last act, stands in for it.
    """
    import select

    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        return wait_released(root, timeout)
    try:
        readable, _, _ = select.select([fd], [], [], timeout)
        return bool(readable)
    finally:
        os.close(fd)
