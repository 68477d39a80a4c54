"""A chatty flow while the store's disk is full: `orc up` stops reading it rather than grow.

The project's `.orc` folder sits on a small tmpfs (skipped, with the reason,
where mounting is refused). The run starts, the disk is filled and the store
degrades; then the flow prints far more than the daemon's bound. The daemon's
memory must stay near its bound while the flow stalls, `orc status` must say
so, and once space is back every line must be stored exactly once and the run
end Completed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.daemon.conftest import Project, wait_for
from tests.fault.disk import MountRefused, fill, kill_left, small_tmpfs

pytestmark = pytest.mark.timeout(300)

#: The flow prints this many lines of ~80 bytes: held by a daemon that kept reading, ~1 GB.
LINES = 3_000_000
#: The most the daemon's RSS may grow while the flow stalls: the 100,000 records of its bound
#: (~30 MB), DuckDB's buffers for its tries at writing them, and the allocator's slack. 50 to
#: 125 MB measured; a daemon that kept reading grew 300 MB in 5 s and ~1 GB in 30 s.
GROWTH = 200 * 2**20

FLOWS = """
import os
import time

from orchestrate import flow


@flow
def chatty(lines: int, go: str) -> int:
    while not os.path.exists(go):  # the disk is filled meanwhile
        time.sleep(0.05)
    for i in range(lines):
        print(f"line {i:08d} " + "x" * 66)
    return lines
"""


def _rss(pid: int) -> int:
    """The resident memory of process `pid`, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


def _blocked_writing(pid: int) -> bool:
    """Whether process `pid` waits in the kernel to write to a full pipe."""
    try:
        return "pipe" in Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return False


def _degraded(project: Project) -> str | None:
    # A write that needs a new page (a small one may still fit the WAL's last page).
    big = json.dumps({"note": "x" * 100_000})
    project.orc("emit", "acme.write", "--resource", "acme.disk", "--payload", big)
    said = project.orc("status").stdout
    return said if "STORE DEGRADED" in said else None


def _stored_lines(project: Project, run_id: str) -> list[dict[str, int]]:
    query = (
        "SELECT count(*) AS n, count(DISTINCT message) AS distinct_n, "
        "min(message) AS first, max(message) AS last FROM logs "
        f"WHERE flow_run_id = '{run_id}' AND logger = 'stdout'"
    )
    done = project.orc("sql", query, "--json")
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, int]] = json.loads(done.stdout)
    return rows


def test_a_chatty_flow_on_a_full_disk_stalls_instead_of_growing_the_daemon_and_loses_no_line(
    tmp_path: Path,
) -> None:
    project = Project(tmp_path)
    project.write("flows.py", FLOWS)
    project.write(
        "flows.toml", '[[deployments]]\nname = "chatty"\nentrypoint = "flows.py:chatty"\n'
    )
    go = tmp_path / "go"
    try:
        with small_tmpfs(tmp_path / ".orc", "256m") as folder:
            daemon = project.up()
            started = project.orc("run", "chatty", "-p", f"lines={LINES}", "-p", f"go={go}")
            assert started.returncode == 0, started.stderr
            [run] = wait_for(lambda: project.runs(state="RUNNING"), 30, "the run to start")
            pid_file = folder / "workers" / f"{run.id}.pid"
            worker = int(
                wait_for(lambda: pid_file.exists() and pid_file.read_text(), 30, "its pid")
            )
            filler = fill(folder)
            wait_for(lambda: _degraded(project), 60, "the store degraded")
            before = _rss(daemon.pid)
            go.touch()

            def grew() -> int:
                growth = _rss(daemon.pid) - before
                assert growth < GROWTH, (
                    f"the daemon grew {growth / 2**20:.0f} MB, the store failing"
                )
                return growth

            def stalled() -> bool:
                grew()
                status = project.orc("status").stdout
                paused = "RUNS PAUSED: 1 worker(s) waiting for the store" in status
                return paused and _blocked_writing(worker)

            wait_for(stalled, 60, "the flow to stall, its output unread", every=0.2)
            for _ in range(20):  # a while longer stalled: the daemon does not grow meanwhile
                wait_for(lambda: _blocked_writing(worker), 10, "the flow still stalled", every=0.1)
                grew()
            assert "the output of 1 running worker(s) is no longer read" in project.daemon_log()

            filler.unlink()
            [done] = wait_for(
                lambda: project.completed("chatty"), 240, "the run, completed", every=0.5
            )
            assert done.id == run.id
            [stored] = _stored_lines(project, run.id)
            assert stored == {
                "n": LINES,
                "distinct_n": LINES,
                "first": f"line {0:08d} " + "x" * 66,
                "last": f"line {LINES - 1:08d} " + "x" * 66,
            }
            assert "RUNS PAUSED" not in project.orc("status").stdout
            assert "worker(s) read again" in project.daemon_log()
            assert project.stop() == 0
    except MountRefused as refused:
        pytest.skip(f"a full disk needs a small tmpfs: {refused}")
    finally:
        kill_left(project.processes)
