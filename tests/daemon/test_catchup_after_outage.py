"""After a long outage, `catchup = "latest"` runs the last slot due, and says how many it left.

It used to look only at the first 100 slots after the last one planned, so
a 1-second schedule down for minutes ran a slot minutes old, the slots after
it left no trace, and the log's count of dropped slots was wrong.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.daemon.restarts import Project, at, cancelled, waiting

EVERY_SECOND = """
    [[deployments]]
    name = "slow"
    entrypoint = "flows.py:slow"
    schedules = [{{ interval = "1s" }}]
    catchup = "{catchup}"
"""
START = at("2026-12-07T00:00:00")


def test_latest_runs_the_last_slot_due_and_counts_every_one_it_left(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    project = Project(tmp_path, EVERY_SECOND.format(catchup="latest"))
    with project.life(START) as daemon:
        planned = len(waiting(daemon))
    assert planned == 100  # 00:00:01 to 00:01:40
    caplog.set_level(logging.INFO, logger="orc.daemon")
    back = START + 300
    with project.life(back) as daemon:
        due = [
            r.expected_start_time for r in waiting(daemon) if (r.expected_start_time or 0) <= back
        ]
    assert due == [back]
    assert len(cancelled(project)) == planned  # each planned one ends, saying why
    assert "slow: 299 missed slot(s) not run (catchup = 'latest')" in caplog.text


def test_all_runs_the_latest_hundred_missed_slots_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    project = Project(tmp_path, EVERY_SECOND.format(catchup="all"))
    with project.life(START):
        pass
    caplog.set_level(logging.INFO, logger="orc.daemon")
    back = START + 300
    with project.life(back) as daemon:
        due = [
            r.expected_start_time for r in waiting(daemon) if (r.expected_start_time or 0) <= back
        ]
    assert len(due) == 200  # the 100 planned ones, then the latest 100 of the 200 after them
    assert due[-100:] == [back - 99 + i for i in range(100)]
    assert cancelled(project) == []
    assert "slow: 100 missed slot(s) not run (catchup = 'all'" in caplog.text
