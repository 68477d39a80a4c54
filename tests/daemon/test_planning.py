"""The scheduler's plan and the dispatcher's choices, as pure functions of a given time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from orchestrate.core.records import FlowRunRecord
from orchestrate.daemon import planner
from orchestrate.daemon.dispatch import LATE_AFTER, DeploymentLimit, Limits, decide
from orchestrate.schedules import CronSchedule, IntervalSchedule
from orchestrate.states import State, StateType

NOW = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night Berlin springs forward


def deployment(
    *schedules: object, catchup: str = "latest", tz: str | None = None
) -> SimpleNamespace:
    return SimpleNamespace(name="d", catchup=catchup, timezone=tz, schedules=list(schedules))


def test_upcoming_fills_at_least_three_runs_and_an_hour_and_is_stable() -> None:
    every_10m = deployment(IntervalSchedule(interval="10m"))
    slots = planner.upcoming(every_10m, NOW)
    assert len(slots) == 6  # an hour of 10-minute slots
    assert all(s.time > NOW for s in slots)
    assert [s.key for s in planner.upcoming(every_10m, NOW)] == [s.key for s in slots]
    daily = deployment(CronSchedule(cron="0 2 * * *"), tz="Europe/Berlin")
    assert len(planner.upcoming(daily, NOW)) == 3


def test_a_skipped_wall_clock_hour_is_not_lost() -> None:
    at_0230 = deployment(CronSchedule(cron="30 2 * * *"), tz="Europe/Berlin")
    first = planner.upcoming(at_0230, NOW)[0].time
    assert first.date() == NOW.date()  # 02:30 does not exist that night; it still runs once


def test_the_horizon_stops_at_100_runs() -> None:
    every_second = deployment(IntervalSchedule(interval="1s"))
    assert len(planner.upcoming(every_second, NOW)) == planner.MAX_RUNS


def test_missed_slots_follow_the_catchup_policy() -> None:
    hourly = IntervalSchedule(interval="1h", anchor="2026-03-28T00:00:00")
    last = {planner.schedule_id(hourly, None): NOW - timedelta(hours=5)}
    missed = planner.missed(deployment(hourly), last, NOW).slots
    assert len(missed) == 5
    overdue = [planner.Overdue(s.schedule_id, s.time, slot=s) for s in missed]
    keep, drop = planner.catch_up("latest", overdue)
    assert [k.time for k in keep] == [max(s.time for s in missed)] and len(drop) == 4
    assert planner.catch_up("none", overdue) == ([], overdue)
    assert planner.catch_up("all", overdue) == (overdue, [])


def _run(
    name: str, deployment: str, at: float, state: str = "Scheduled", tags: tuple[str, ...] = ()
) -> FlowRunRecord:
    kind = StateType.RUNNING if state == "Running" else StateType.SCHEDULED
    return FlowRunRecord(id=name, name=name, flow_name="f", parameters={}, state=State(kind, state),
                         created=at, tags=tags, deployment=deployment, expected_start_time=at)  # fmt: skip


def test_decide_respects_global_deployment_and_tag_limits() -> None:
    due = [
        _run("a1", "a", 1),
        _run("a2", "a", 2),
        _run("b1", "b", 3, tags=("db",)),
        _run("c1", "c", 4, tags=("db",)),
    ]
    limits = Limits(3, {"a": DeploymentLimit(1)}, {"db": 1})
    decision = decide(due, [], limits, now=10)
    assert [r.id for r in decision.start] == ["a1", "b1"]
    assert [(r.id, name) for r, name in decision.wait] == [
        ("a2", "AwaitingConcurrencySlot"),
        ("c1", "AwaitingConcurrencySlot"),
    ]


def test_collision_strategies_refuse_instead_of_waiting() -> None:
    running = [_run("r", "a", 0, "Running")]
    for strategy in ("cancel-new", "skip"):
        decision = decide(
            [_run("n", "a", 1)], running, Limits(None, {"a": DeploymentLimit(1, strategy)}), now=2
        )
        assert [(r.id, s) for r, s, _ in decision.refuse] == [("n", strategy)]
        assert "concurrency_limit = 1" in decision.refuse[0][2]


def test_a_run_waiting_too_long_becomes_late() -> None:
    decision = decide([_run("n", "a", 0)], [], Limits(0), now=LATE_AFTER + 1)
    assert decision.wait[0][1] == "Late"


def test_latest_is_the_last_slot_due_however_long_orc_up_was_down() -> None:
    every_second = deployment(IntervalSchedule(interval="1s"))
    since = {planner.schedule_id(every_second.schedules[0], None): NOW - timedelta(seconds=300)}
    found = planner.missed(every_second, since, NOW, keep=1)
    assert [s.time for s in found.slots] == [NOW]
    assert (found.left_out, found.more) == (299, False)


def test_all_runs_the_latest_missed_slots_up_to_its_cap_and_counts_the_rest() -> None:
    every_second = deployment(IntervalSchedule(interval="1s"))
    since = {planner.schedule_id(every_second.schedules[0], None): NOW - timedelta(seconds=300)}
    found = planner.missed(every_second, since, NOW, keep=planner.MAX_RUNS)
    times = [s.time for s in found.slots]
    assert times == [NOW - timedelta(seconds=99 - i) for i in range(planner.MAX_RUNS)]
    assert (found.left_out, found.more) == (200, False)


def test_missed_slots_past_the_counting_limit_are_said_to_be_more() -> None:
    every_second = deployment(IntervalSchedule(interval="1s"))
    since = {planner.schedule_id(every_second.schedules[0], None): NOW - timedelta(days=3)}
    found = planner.missed(every_second, since, NOW, keep=1)
    assert [s.time for s in found.slots] == [NOW]
    assert (found.left_out, found.more) == (planner.COUNT_LIMIT, True)


def test_one_timing_listed_twice_with_other_parameters_plans_both() -> None:
    """`cron = "0 2 * * *"` for region eu and again for region us: one id for both kept only
    the last, so the eu run was never made, and nothing said so."""
    twins = deployment(
        CronSchedule(cron="0 2 * * *", parameters={"region": "eu"}),
        CronSchedule(cron="0 2 * * *", parameters={"region": "us"}),
    )
    slots = planner.upcoming(twins, NOW)
    first_night = min(s.time for s in slots)
    tonight = [s for s in slots if s.time == first_night]
    assert sorted(s.parameters["region"] for s in tonight) == ["eu", "us"]
    assert len({s.key for s in tonight}) == 2
    assert [s.key for s in planner.upcoming(twins, NOW)] == [s.key for s in slots]  # stable
