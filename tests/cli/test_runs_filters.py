"""`orc runs ls` filters: deployment, flow, several states, tag, since/until, upcoming scheduled."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from orchestrate.core.project import store_path
from orchestrate.states import AwaitingRetry, Completed, Crashed, Failed, Running, Scheduled
from orchestrate.store import StoreWriter
from tests.cli.conftest import Orc, parse_json

HOUR = 3600.0


@pytest.fixture
def runs(tmp_path: Path, build: SimpleNamespace) -> Path:
    now = time.time()
    writer = StoreWriter(store_path(tmp_path))
    for run_id, state, deployment, flow, tags, age in [
        ("etl-ok", Completed(), "etl", "nightly", ["prod"], 1),
        ("etl-bad", Failed(), "etl", "nightly", ["prod"], 30),
        ("report-crash", Crashed(), "report", "weekly", [], 72),
        ("adhoc", Completed(), None, "scratch", ["dev"], 100),
    ]:
        created = now - age * HOUR
        writer.put(build.flow_run(run_id, state, deployment=deployment, flow_name=flow, tags=tags,
                                  created=created, expected_start_time=created,
                                  start_time=created, end_time=created + 60))  # fmt: skip
    writer.put(build.flow_run("etl-next", Scheduled(), deployment="etl", flow_name="nightly", run_count=0,
                              created=now, expected_start_time=now + HOUR, start_time=None, end_time=None))  # fmt: skip
    writer.close()
    return tmp_path


def _ids(orc: Orc, *args: str) -> list[str]:
    return [r["id"] for r in parse_json(orc("runs", "ls", "--json", *args))]


def test_each_filter_narrows_the_list(runs: Path, orc: Orc) -> None:
    assert _ids(orc, "--deployment", "etl") == ["etl-ok", "etl-bad"]
    assert _ids(orc, "--flow", "weekly") == ["report-crash"]
    assert _ids(orc, "--state", "Failed", "--state", "crashed") == ["etl-bad", "report-crash"]
    assert _ids(orc, "--tag", "dev") == ["adhoc"]
    assert _ids(orc, "--since", "2d") == ["etl-ok", "etl-bad"]
    assert _ids(orc, "--until", "2d") == ["report-crash", "adhoc"]
    assert _ids(orc, "--scheduled") == ["etl-next"]
    assert _ids(orc, "--deployment", "etl", "--state", "COMPLETED", "--since", "1970-01-02") == [
        "etl-ok"
    ]


def test_since_and_until_keep_the_runs_active_in_the_window_whenever_they_were_planned(
    tmp_path: Path, orc: Orc, build: SimpleNamespace
) -> None:
    """A daemon creates scheduled runs an hour ahead: `--since 1h` filtered on creation and
    missed a run planned two hours ago that ran ten minutes ago, so an alert on
    `--since 1h --state Failed` stayed silent."""
    now = time.time()
    writer = StoreWriter(store_path(tmp_path))
    for run_id, state, planned, started, ended in [
        ("ran-lately", Failed(), now - 2 * HOUR, now - 600, now - 590),
        ("still-running", Running(), now - 5 * HOUR, now - 3 * HOUR, None),
        ("long-ago", Completed(), now - 5 * HOUR, now - 4 * HOUR, now - 4 * HOUR + 60),
    ]:
        writer.put(build.flow_run(run_id, state, created=planned, expected_start_time=started,
                                  start_time=started, end_time=ended))  # fmt: skip
    writer.close()
    assert _ids(orc, "--since", "1h", "--state", "Failed") == ["ran-lately"]
    assert sorted(_ids(orc, "--since", "1h")) == ["ran-lately", "still-running"]
    assert sorted(_ids(orc, "--until", "2h")) == ["long-ago", "still-running"]


def test_a_run_awaiting_its_retry_is_listed_though_its_next_attempt_is_ahead(
    tmp_path: Path, orc: Orc, build: SimpleNamespace
) -> None:
    """`orc run` of a flow that fails with retries left: the run has run and failed, and waits
    for its next attempt. It used to be hidden with the upcoming schedule ("No flow runs
    yet"), as if it had never run; a slot made ahead and never run still is."""
    now = time.time()
    writer = StoreWriter(store_path(tmp_path))
    writer.put(build.flow_run("failed-once", AwaitingRetry(), deployment="etl", run_count=1,
                              created=now - 5, start_time=now - 5, expected_start_time=now + 30))  # fmt: skip
    writer.put(build.flow_run("slot-ahead", Scheduled(), deployment="etl", run_count=0,
                              created=now, expected_start_time=now + HOUR, start_time=None, end_time=None))  # fmt: skip
    writer.close()
    assert _ids(orc) == ["failed-once"]
    assert sorted(_ids(orc, "--scheduled")) == ["failed-once", "slot-ahead"]


def test_upcoming_runs_list_the_soonest_first(
    tmp_path: Path, orc: Orc, build: SimpleNamespace
) -> None:
    """`--scheduled` with more upcoming runs than `-n`: the next ones due, not the furthest."""
    now = time.time()
    writer = StoreWriter(store_path(tmp_path))
    for hours in (3, 1, 2):
        writer.put(build.flow_run(f"in-{hours}h", Scheduled(), deployment="etl", run_count=0,
                                  created=now, expected_start_time=now + hours * HOUR,
                                  start_time=None, end_time=None))  # fmt: skip
    writer.close()
    assert _ids(orc, "--scheduled", "-n", "2") == ["in-1h", "in-2h"]
    assert _ids(orc, "--scheduled", "--reverse") == ["in-3h", "in-2h", "in-1h"]


def test_a_retry_is_upcoming_until_its_scheduled_time_not_its_first_due_time(
    tmp_path: Path, orc: Orc, build: SimpleNamespace
) -> None:
    """A retry keeps its run's expected start time (when it was first due): `--scheduled`
    lists it, in its place, by when the retry is due (its AwaitingRetry's `scheduled_time`)."""
    now = time.time()
    writer = StoreWriter(store_path(tmp_path))
    writer.put(build.flow_run("retry-in-2h", AwaitingRetry(scheduled_time=now + 2 * HOUR),
                              deployment="etl", run_count=1, created=now - HOUR,
                              start_time=now - HOUR, expected_start_time=now - HOUR))  # fmt: skip
    for hours in (1, 3):
        writer.put(build.flow_run(f"in-{hours}h", Scheduled(), deployment="etl", run_count=0,
                                  created=now, expected_start_time=now + hours * HOUR,
                                  start_time=None, end_time=None))  # fmt: skip
    writer.close()
    assert _ids(orc, "--scheduled") == ["in-1h", "retry-in-2h", "in-3h"]
    retry = parse_json(orc("runs", "ls", "--json"))[0]
    assert retry["id"] == "retry-in-2h"
    assert retry["next_scheduled_start_time"] > retry["expected_start_time"]  # ISO, one offset


def test_a_filter_that_matches_nothing_says_so(runs: Path, orc: Orc) -> None:
    result = orc("runs", "ls", "--deployment", "etl", "--state", "Cancelled")
    assert result.returncode == 0, result.stderr
    assert "No flow runs match --state Cancelled --deployment etl." in result.stdout
    assert "yet" not in result.stdout


def test_an_unknown_state_or_time_is_a_usage_error(runs: Path, orc: Orc) -> None:
    state = orc("runs", "ls", "--state", "Failedd")
    assert state.returncode == 2
    assert "'Failedd' is not a state" in state.stderr
    since = orc("runs", "ls", "--since", "last tuesday")
    assert since.returncode == 2
    assert "neither a duration" in since.stderr
