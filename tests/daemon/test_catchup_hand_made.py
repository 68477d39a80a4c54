"""Catch-up applies to the runs the schedule made for its slots, never to runs asked for by hand.

A run made by `orc run`, the TUI, an automation or `orc backfill` that waits
(queued behind a concurrency limit, or held by a pause) was cancelled at the
next start, or at `orc resume`, as if it were a missed slot: the daemon knew
which runs were hand-made only from memory, which a restart loses.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrate.daemon import backfill
from orchestrate.daemon.service import Daemon
from tests.daemon.restarts import Project, at, cancelled, waiting

HOURLY = """
    [[deployments]]
    name = "slow"
    entrypoint = "flows.py:slow"
    schedules = [{{ cron = "0 * * * *" }}]
    concurrency_limit = 1
    collision_strategy = "enqueue"
    catchup = "{catchup}"
    paused = {paused}
"""

START = at("2026-12-08T00:30:00")


def hourly(tmp_path: Path, catchup: str = "latest", paused: str = "false") -> Project:
    return Project(tmp_path, HOURLY.format(catchup=catchup, paused=paused))


def _backfill(daemon: Daemon) -> list[str]:
    """`orc backfill slow --start 2026-12-07T00:00:00 --end 2026-12-07T08:00:00`: run ids."""
    spec = daemon.table.get("slow")
    start, end = datetime(2026, 12, 7, tzinfo=UTC), datetime(2026, 12, 7, 8, tzinfo=UTC)
    slots = backfill.slots_between(spec, start, end)
    _, done = backfill.backfill(daemon, spec, slots, {}, dry_run=False, rerun=False, parameters={})
    return [d.created for d in done if d.created]


def test_a_queued_backfill_runs_whole_after_a_restart(tmp_path: Path) -> None:
    project = hourly(tmp_path)
    with project.life(START) as daemon:
        made = _backfill(daemon)
    assert len(made) == 8
    with project.life(START + 60) as daemon:
        still = {r.id for r in waiting(daemon)}
    assert cancelled(project) == []
    assert set(made) <= still


def test_resume_leaves_a_backfill_made_during_the_pause_to_run(tmp_path: Path) -> None:
    project = hourly(tmp_path)
    with project.life(START) as daemon:
        daemon.set_paused("slow", True)
        made = _backfill(daemon)
        daemon.set_paused("slow", False)
        still = {r.id for r in waiting(daemon)}
    assert cancelled(project) == []
    assert set(made) <= still


@pytest.mark.parametrize("catchup", ["none", "latest"])
def test_runs_asked_for_by_hand_wait_through_a_restart(tmp_path: Path, catchup: str) -> None:
    project = hourly(tmp_path, catchup)
    with project.life(START) as daemon:
        made = [daemon.create_manual("slow", {"x": 1}).id for _ in range(4)]
    with project.life(START + 600) as daemon:
        still = {r.id for r in waiting(daemon)}
    assert cancelled(project) == []
    assert set(made) <= still


def test_a_pause_does_not_hold_a_run_asked_for_by_hand_after_a_restart(tmp_path: Path) -> None:
    project = hourly(tmp_path, paused="true")
    with project.life(START) as daemon:
        made = daemon.create_manual("slow", {"x": 1})
    with project.life(START + 60) as daemon:
        (again,) = [r for r in waiting(daemon) if r.id == made.id]
        assert daemon._may_start(again)


def test_missed_slots_the_schedule_made_still_follow_catchup_after_a_restart(
    tmp_path: Path,
) -> None:
    project = hourly(tmp_path, "none")
    with project.life(START) as daemon:
        planned = [r.id for r in waiting(daemon)]
    assert len(planned) == 3  # 01:00, 02:00, 03:00
    with project.life(at("2026-12-08T05:30:00")) as daemon:
        assert all((r.expected_start_time or 0) > daemon.clock() for r in waiting(daemon))
    ended = dict(cancelled(project))
    assert sorted(ended) == sorted(planned)
    assert all("its slot passed while orc up was not running" in m for m in ended.values())
