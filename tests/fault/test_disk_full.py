"""A full disk under the store: orc keeps answering, loses nothing, and schedules again once freed.

The project's `.orc` folder sits on a small tmpfs; a filler file takes the
last byte for a few seconds while `orc status` is asked, then is deleted.
Skipped, with the reason, where mounting is not permitted.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.daemon.conftest import FLOWS, Project, wait_for
from tests.fault.disk import MountRefused, fill, kill_left, small_tmpfs
from tests.fault.faults import default_seed, run_round


def test_a_full_disk_stops_nothing_for_good(tmp_path: Path) -> None:
    seed = default_seed()
    result = run_round(tmp_path, 1, seed, faults=["disk-full"], settle_for=20)
    if result.skipped:
        pytest.skip(f"a disk-full trial needs a small tmpfs: {result.skipped}")
    details = [f"{k}: {d}" for k, ds in result.violations.get("details", {}).items() for d in ds]
    assert result.total_violations == 0 and not result.error, (
        f"seed {seed}; error: {result.error}\n" + "\n".join(details)
    )


def test_orc_down_on_a_full_disk_stops_in_its_grace_and_loses_no_run(tmp_path: Path) -> None:
    """A stop while the store cannot be written must not wait on it (a minute for each
    batch of journals, past `orc down`'s wait and systemd's): the journals stay, and the
    next start, with space again, records the run from them, without running it again."""
    project = Project(tmp_path)
    project.write("flows.py", FLOWS)
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "sleepy"
        entrypoint = "flows.py:sleepy"
        """,
    )
    try:
        with small_tmpfs(tmp_path / ".orc", "32m") as folder:
            project.up("--grace", "2")
            started = project.orc("run", "sleepy", "-p", "seconds=8")
            assert started.returncode == 0, started.stderr
            [run] = wait_for(lambda: project.runs(state="RUNNING"), 30, "the run to start")
            filler = fill(folder)

            def degraded() -> str | None:
                # A write that needs a new page (a small one can still fit the WAL's last page)
                big = '{"note": "' + "x" * 100_000 + '"}'
                project.orc("emit", "acme.write", "--resource", "acme.disk", "--payload", big)
                said = project.orc("status").stdout
                return said if "STORE DEGRADED" in said else None

            status = wait_for(degraded, 60, "the store degraded")
            assert "1 running" in status  # the run ends while the store cannot be written
            wait_for(lambda: "0 running" in project.orc("status").stdout, 60, "the run's end")
            stopping = time.monotonic()
            down = project.orc("down")
            assert down.returncode == 0, down.stdout + down.stderr
            assert project.processes[0].wait(10) == 0
            assert time.monotonic() - stopping < 30
            filler.unlink()
            project.up()
            [done] = wait_for(lambda: project.completed("sleepy"), 60, "the run, recorded")
            assert (done.id, done.run_count) == (run.id, 1)
            assert project.stop() == 0
    except MountRefused as refused:
        pytest.skip(f"a full disk needs a small tmpfs: {refused}")
    finally:
        kill_left(project.processes)
