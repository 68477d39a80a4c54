"""A full disk under the store: orc keeps answering, loses nothing, and schedules again once freed.

The project's `.orc` folder sits on a small tmpfs; a filler file takes the
last byte for a few seconds while `orc status` is asked, then is deleted.
Skipped, with the reason, where mounting is not permitted.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.fault.disk import MountRefused, full_then_freed, small_tmpfs
from tests.fault.faults import Runner, default_seed
from tests.fault.invariants import check, gather
from tests.fault.project import FaultProject


def test_a_full_disk_stops_nothing_for_good(tmp_path: Path) -> None:
    seed = default_seed()
    project = FaultProject.create(tmp_path / "project")
    runner = Runner(project, random.Random(seed), 1, seed)
    try:
        with small_tmpfs(project.root / ".orc", "32m"):
            try:
                project.up()
                seen = full_then_freed(runner)
                runner.settle(timeout=30)
                project.stop()
                found = check(gather(project.root), project.root, runner.unsettled)
            finally:
                project.kill_everything()
    except MountRefused as exc:
        pytest.skip(f"a disk-full trial needs a small tmpfs: {exc}")
    problems = [f"orc status failed while the disk was full: {f}" for f in seen.status_failures[:3]]
    if seen.resumed_after is None:
        problems.append("no run started and completed within 30 s after the disk was freed")
    if found.total:
        problems.append(found.summary())
    assert not problems, f"seed {seed}:\n" + "\n".join(problems)
