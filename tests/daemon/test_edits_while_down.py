"""flows.toml edited while orc up was down: the next start plans from the file as it is now.

The runs the last daemon planned were kept as they were: a removed, inactive
or changed schedule still ran them, changed parameters did not reach them, and
since a slot was keyed by its schedule's place in the list, a schedule that
moved up had each of its slots planned a second time.
"""

from __future__ import annotations

from pathlib import Path

from orchestrate.config.loader import load_config
from orchestrate.daemon import planner
from orchestrate.store import connection
from tests.daemon.restarts import Project, at, waiting
from tests.daemon.test_catchup_hand_made import _backfill

TWO = """
    [[deployments]]
    name = "slow"
    entrypoint = "flows.py:slow"
    parameters = {{ x = {x} }}
    schedules = [{schedules}]
    catchup = "latest"
"""
EVERY_20M = '{ interval = "20m" }'
AT_3 = '{ cron = "0 3 * * *" }'
START = at("2026-12-07T02:50:00")
NIGHTS = [at("2026-12-07T03:00:00"), at("2026-12-08T03:00:00"), at("2026-12-09T03:00:00")]


def config(*schedules: str, x: int = 1) -> str:
    return TWO.format(schedules=", ".join(schedules), x=x)


def stored_waiting(project: Project) -> list[float]:
    rows = project.rows(
        "SELECT epoch(expected_start_time) FROM flow_runs "
        "WHERE state_type = 'SCHEDULED' ORDER BY expected_start_time"
    )
    return [float(t) for (t,) in rows]


def times(project: Project, now: float) -> list[float]:
    with project.life(now) as daemon:
        return [r.expected_start_time or 0.0 for r in waiting(daemon)]


def test_a_schedule_removed_while_down_leaves_no_run_and_each_night_runs_once(
    tmp_path: Path,
) -> None:
    project = Project(tmp_path, config(EVERY_20M, AT_3))
    assert len(times(project, START)) == 6  # 03:00, 03:20, 03:40 and three nights
    project.configure(config(AT_3))
    assert times(project, START + 300) == NIGHTS
    assert stored_waiting(project) == NIGHTS


def test_a_schedule_made_inactive_while_down_runs_no_more(tmp_path: Path) -> None:
    project = Project(tmp_path, config(EVERY_20M, AT_3))
    times(project, START)
    project.configure(config('{ interval = "20m", active = false }', AT_3))
    assert times(project, START + 300) == NIGHTS


def test_a_cron_changed_while_down_keeps_none_of_the_old_times(tmp_path: Path) -> None:
    project = Project(tmp_path, config(AT_3))
    times(project, START)
    project.configure(config('{ cron = "0 4 * * *" }'))
    assert times(project, START + 300) == [t + 3600 for t in NIGHTS]


def test_parameters_changed_while_down_reach_every_planned_run(tmp_path: Path) -> None:
    project = Project(tmp_path, config(EVERY_20M, AT_3))
    times(project, START)
    project.configure(config(EVERY_20M, AT_3, x=2))
    with project.life(at("2026-12-07T03:10:00")) as daemon:  # 03:00 is caught up
        runs = waiting(daemon)
        assert runs[0].expected_start_time == NIGHTS[0]
        assert [r.parameters for r in runs] == [{"x": 2}] * len(runs)
    assert project.rows("SELECT DISTINCT parameters->>'x' FROM flow_runs") == [("2",)]


def test_a_schedule_that_moved_keeps_its_planned_runs(tmp_path: Path) -> None:
    project = Project(tmp_path, config(EVERY_20M, AT_3))
    with project.life(START) as daemon:
        before = {r.id for r in waiting(daemon)}
        project.configure(config(AT_3, EVERY_20M))
        daemon.reload(load_config(tmp_path / "flows.toml"))
        assert {r.id for r in waiting(daemon)} == before
    project.configure(config(EVERY_20M, AT_3))
    with project.life(START + 60) as daemon:
        assert {r.id for r in waiting(daemon)} == before


def test_runs_asked_for_by_hand_outlive_the_schedule_they_share_a_deployment_with(
    tmp_path: Path,
) -> None:
    project = Project(tmp_path, config(EVERY_20M, AT_3))
    with project.life(START) as daemon:
        made = {daemon.create_manual("slow", {}).id, *_backfill(daemon)}
    project.configure(config('{ cron = "0 4 * * *" }', x=2))
    with project.life(START + 60) as daemon:
        assert made <= {r.id for r in waiting(daemon)}


def test_a_store_keyed_by_list_place_plans_no_slot_again(tmp_path: Path) -> None:
    """Stores written before schedules were named by when they fire: their slot rows name a
    schedule by its place in the list, read as the schedule at that place now."""
    project = Project(tmp_path, config(EVERY_20M, AT_3))
    with project.life(START) as daemon:
        before = {r.id for r in waiting(daemon)}
        legacy = {
            sid: str(i)
            for i, sid in enumerate(planner.legacy_ids(daemon.table.get("slow")).values())
        }
    with connection.connect(tmp_path / ".orc" / "orc.duckdb", read_only=False) as conn:
        for new, old in legacy.items():
            conn.execute(
                "UPDATE schedule_slots SET schedule_id = ?, key = replace(key, ?, ?) "
                "WHERE schedule_id = ?",
                [old, f"/{new}/", f"/{old}/", new],
            )
    with project.life(START + 60) as daemon:
        assert {r.id for r in waiting(daemon)} == before
