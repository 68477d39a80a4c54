"""A full disk under the store: the project's `.orc` folder on a small tmpfs, filled, then freed.

Mounting needs root (or CAP_SYS_ADMIN); where it is refused the trial is
skipped with the reason. The filler is a file next to the store, so freeing
the space is deleting it, as a user would.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.fault.project import FaultProject, wait_for

CHUNK = b"\0" * (64 * 1024)


class MountRefused(Exception):
    """The small file system could not be mounted here (not root, or no CAP_SYS_ADMIN)."""


@contextlib.contextmanager
def small_tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted at `path`, unmounted (lazily if busy) on the way out."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        raise MountRefused(
            f"mount -t tmpfs at {path} failed: {done.stderr.strip() or done.returncode}"
        )
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True, check=False).returncode:
            subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def kill_left(processes: list[subprocess.Popen[bytes]]) -> None:
    """Kill each `orc up` a failed test left running, with its workers, before the disk goes."""
    for proc in processes:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def fill(folder: Path) -> Path:
    """Write a filler file in `folder` until the file system says ENOSPC; returns the filler."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as f:
        while True:
            try:
                f.write(CHUNK)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
    return filler


@dataclass
class DiskFull:
    """What a user saw while the disk was full and after it was freed."""

    status_answers: int = 0
    status_failures: list[str] = field(default_factory=list)
    resumed_after: float | None = None


def ended_bodies(project: FaultProject) -> int:
    """Flow bodies that ended so far, from the markers."""
    if not project.markers.exists():
        return 0
    return project.markers.read_bytes().count(b'"kind": "flow", "phase": "end"')


def full_then_freed(
    project: FaultProject,
    record: Callable[[str, str], None],
    full_for: float = 4.0,
    resume_within: float = 30.0,
) -> DiskFull:
    """Fill the store's disk for `full_for` s asking for `orc status` meanwhile, free it, time the resume."""
    seen = DiskFull()
    wait_for(lambda: ended_bodies(project) >= 3, 30, "a few runs to finish")
    filler = fill(project.root / ".orc")
    record("disk-full", f"filled {filler.stat().st_size // 1024} KiB for {full_for:g} s")
    until = time.monotonic() + full_for
    while time.monotonic() < until:
        _ask_status(project, seen)
    freed = time.time()
    os.unlink(filler)
    try:
        wait_for(
            lambda: _completed_since(project, freed + 1.0) >= 3,
            resume_within,
            "runs to complete again",
        )
        seen.resumed_after = round(time.time() - freed, 2)
    except TimeoutError:
        seen.resumed_after = None
    return seen


def _completed_since(project: FaultProject, since: float) -> int:
    """Runs the daemon reports Completed that started after `since`: scheduling and recording both work."""
    try:
        with project.client() as client:
            runs = client.runs(limit=500, state="Completed")
    except Exception:
        return 0
    return sum(1 for r in runs if (r.start_time or 0) > since)


def _ask_status(project: FaultProject, seen: DiskFull) -> None:
    try:
        with project.client() as client:
            client.status()
        seen.status_answers += 1
    except Exception as exc:
        seen.status_failures.append(f"{type(exc).__name__}: {exc}"[:200])
    time.sleep(0.2)  # the pace of a user asking again, not a wait for a condition


__all__ = ["DiskFull", "MountRefused", "fill", "full_then_freed", "small_tmpfs"]
