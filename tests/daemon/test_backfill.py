"""`orc backfill` in a real `orc up`: one run per past slot, each seeing its slot, never twice."""

from __future__ import annotations

import json

import pytest

from tests.daemon.conftest import Project, wait_for

pytestmark = pytest.mark.timeout(180)

SLOT_FLOW = """
    from orchestrate import flow, get_run_logger
    from orchestrate.runtime import flow_run


    @flow
    def daily() -> None:
        get_run_logger().info("slot %s", flow_run.scheduled_start_time.isoformat())
"""

#: Runs of past slots (the daemon also plans the next real one).
PAST = "SELECT count(*) AS n FROM flow_runs WHERE expected_start_time < TIMESTAMPTZ '2026-02-01'"
DAYS = ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05"]


def _sql(project: Project, query: str) -> list[dict[str, object]]:
    result = project.orc("sql", "--json", query)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.fixture
def daily(project: Project) -> Project:
    project.write("flows.py", SLOT_FLOW)
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "daily"
        entrypoint = "flows.py:daily"
        schedules = [{ cron = "0 0 * * *", timezone = "UTC" }]
        concurrency_limit = 2
    """,
    )
    project.up()
    return project


def test_a_dry_run_lists_the_slots_and_makes_nothing(daily: Project) -> None:
    listed = daily.orc(
        "backfill", "daily", "--start", "2026-01-01", "--end", "2026-01-06", "--dry-run"
    )
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count("would run") == 5
    assert "2026-01-05 00:00:00 UTC" in listed.stdout and "2026-01-06" not in listed.stdout
    assert _sql(daily, PAST) == [{"n": 0}]


def test_five_daily_slots_run_once_each_seeing_their_slot(daily: Project) -> None:
    made = daily.orc("backfill", "daily", "--start", "2026-01-01", "--end", "2026-01-06", "--json")
    assert made.returncode == 0, made.stderr + daily.daemon_log()
    answer = json.loads(made.stdout)
    assert len([s for s in answer["slots"] if s["created"]]) == 5
    assert [s["time"] for s in answer["slots"]] == [f"{day}T00:00:00+00:00" for day in DAYS]
    finished = f"""SELECT count(*) AS n FROM flow_runs
                   WHERE list_contains(tags, 'backfill:{answer["id"]}') AND state_name = 'Completed'"""
    wait_for(lambda: _sql(daily, finished) == [{"n": 5}], 120, "5 backfilled runs to complete")
    seen = _sql(daily, "SELECT message FROM logs WHERE message LIKE 'slot %' ORDER BY message")
    assert [row["message"] for row in seen] == [f"slot {day}T00:00:00+00:00" for day in DAYS]
    listed = daily.orc("runs", "ls", "--backfill", answer["id"], "--json")
    assert len(json.loads(listed.stdout)) == 5

    again = daily.orc("backfill", "daily", "--start", "2026-01-01", "--end", "2026-01-06")
    assert again.returncode == 0, again.stderr
    assert "0 run(s) queued, 5 slot(s) already had one" in again.stdout
    assert _sql(daily, PAST) == [{"n": 5}]


BUSY_FLOW = """
    import time

    from orchestrate import flow


    @flow
    def daily() -> None:
        time.sleep(600)  # the work a cancel has to stop
"""


def test_cancel_backfill_cancels_every_unfinished_run_of_it(project: Project) -> None:
    project.write("flows.py", BUSY_FLOW)
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "daily"
        entrypoint = "flows.py:daily"
        schedules = [{ cron = "0 0 * * *", timezone = "UTC" }]
        concurrency_limit = 1
    """,
    )
    project.up()
    made = project.orc(
        "backfill", "daily", "--start", "2026-01-01", "--end", "2026-01-04", "--json"
    )
    assert made.returncode == 0, made.stderr + project.daemon_log()
    backfill = json.loads(made.stdout)["id"]
    of_it = f"FROM flow_runs WHERE list_contains(tags, 'backfill:{backfill}')"
    wait_for(lambda: _sql(project, f"SELECT count(*) AS n {of_it} AND state_type = 'RUNNING'")
             == [{"n": 1}], 60, "one backfilled run to start")  # fmt: skip
    said = project.orc("cancel", "--backfill", backfill)
    assert said.returncode == 0, said.stderr
    assert f"Cancelling 3 unfinished run(s) of backfill {backfill}" in said.stdout
    wait_for(lambda: _sql(project, f"SELECT count(*) AS n {of_it} AND state_type = 'CANCELLED'")
             == [{"n": 3}], 60, "all three backfilled runs to end Cancelled")  # fmt: skip
    again = project.orc("cancel", "--backfill", backfill)
    assert again.returncode == 0 and f"No unfinished runs of backfill {backfill}" in again.stdout


def test_cancel_needs_a_run_or_a_backfill_not_both(project: Project) -> None:
    neither = project.orc("cancel")
    both = project.orc("cancel", "abc", "--backfill", "xyz")
    assert neither.returncode == 2 and both.returncode == 2
    assert "--backfill" in neither.stderr and "--backfill" in both.stderr


def test_a_followed_backfill_prints_its_progress_until_every_run_is_done(daily: Project) -> None:
    made = daily.orc(
        "backfill", "daily", "--start", "2026-01-01", "--end", "2026-01-04", "--follow"
    )
    assert made.returncode == 0, made.stderr + daily.daemon_log()
    lines = [line for line in made.stdout.splitlines() if ": " in line and "finished (" in line]
    assert lines, made.stdout
    assert lines[-1].endswith(": 3/3 finished (3 Completed)"), made.stdout


def test_parameters_that_do_not_fit_are_refused_before_any_run_is_made(project: Project) -> None:
    project.write(
        "flows.py",
        """
        from orchestrate import flow


        @flow
        def daily(rows: int = 1) -> int:
            return rows
    """,
    )
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "daily"
        entrypoint = "flows.py:daily"
        schedules = [{ cron = "0 0 * * *", timezone = "UTC" }]
    """,
    )
    project.up()
    refused = project.orc(
        "backfill",
        "daily",
        "--start",
        "2026-01-01",
        "--end",
        "2026-01-06",
        "--parameters",
        '{"rows": "many"}',
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "rows" in refused.stderr
    assert _sql(project, PAST) == [{"n": 0}]


def test_dates_without_a_zone_are_read_in_the_deployments_timezone(project: Project) -> None:
    """`--start 2026-12-01 --end 2026-12-03` for a Berlin schedule at 00:30 meant UTC
    midnights: it left out Berlin's 1 December and took in its 3 December."""
    project.write("flows.py", SLOT_FLOW)
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "berlin"
        entrypoint = "flows.py:daily"
        timezone = "Europe/Berlin"
        schedules = [{ cron = "30 0 * * *" }]
    """,
    )
    project.up()
    listed = project.orc(
        "backfill", "berlin", "--start", "2026-12-01", "--end", "2026-12-03", "--dry-run", "--json"
    )
    assert listed.returncode == 0, listed.stderr
    times = [slot["time"] for slot in json.loads(listed.stdout)["slots"]]
    assert times == ["2026-11-30T23:30:00+00:00", "2026-12-01T23:30:00+00:00"]
    zoned = project.orc("backfill", "berlin", "--start", "2026-12-01T00:00:00+00:00",
                        "--end", "2026-12-02T00:00:00+00:00", "--dry-run", "--json")  # fmt: skip
    assert [s["time"] for s in json.loads(zoned.stdout)["slots"]] == ["2026-12-01T23:30:00+00:00"]
