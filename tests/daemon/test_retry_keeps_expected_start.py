"""A retry keeps its run's expected start time; the retry is due at its AwaitingRetry's time.

As in Prefect, a flow run's `expected_start_time` is set once, from its first
state, and kept through retries: `orc runs show`, the API and the flow itself
(`flow_run.scheduled_start_time`) say when the run was due, not when its last
retry was. The retry's own time is its AwaitingRetry state's `scheduled_time`,
stored as the run's `next_scheduled_start_time`, so a restart of orc up while
the run awaits its retry runs it then: not at once, and not never.
"""

from __future__ import annotations

import json
import signal
from datetime import datetime
from typing import Any

import pytest

from tests.daemon.conftest import Project, wait_for

pytestmark = pytest.mark.timeout(120)

FLOW = '''
    import json
    import time

    from orchestrate import flow
    from orchestrate.runtime import flow_run


    @flow
    def flaky() -> None:
        """Mark each attempt (when its body began, and when the flow says it was due); fail the first."""
        with open("marks.jsonl", "a") as marks:
            due = flow_run.scheduled_start_time.timestamp()
            marks.write(json.dumps([flow_run.run_count, time.time(), due]) + "\\n")
        if flow_run.run_count == 1:
            raise ValueError("the first attempt fails")
'''


def _deploy(project: Project, delay: float) -> None:
    project.write("flows.py", FLOW)
    project.write(
        "flows.toml",
        '[[deployments]]\nname = "flaky"\nentrypoint = "flows.py:flaky"\n'
        f"retries = 1\nretry_delay_seconds = {delay}\n",
    )


def _run(project: Project, run_id: str) -> Any:
    """The run as the store holds it (the daemon flushes its writer before it reads)."""
    with project.client() as client:
        return client.run(run_id)


def _in(project: Project, run_id: str, name: str, attempt: int) -> bool:
    run = _run(project, run_id).run
    return (run.state.name, run.run_count) == (name, attempt)


def _marks(project: Project) -> list[tuple[int, float, float]]:
    """(attempt, when its body began, the flow's scheduled_start_time) of each attempt run."""
    lines = (project.root / "marks.jsonl").read_text().splitlines()
    return [(int(a), float(began), float(due)) for a, began, due in map(json.loads, lines)]


def _awaiting_retry(project: Project, run_id: str) -> Any:
    """The run's AwaitingRetry state in its stored history."""
    history = _run(project, run_id).state_history
    return next(s for s in history if s.name == "AwaitingRetry")


def _shown_expected_start(project: Project, run_id: str) -> float:
    """The expected start time `orc runs show --json` gives (ISO 8601), as epoch seconds."""
    shown = project.orc("runs", "show", run_id, "--json")
    assert shown.returncode == 0, shown.stderr
    return datetime.fromisoformat(json.loads(shown.stdout)["expected_start_time"]).timestamp()


def test_a_retry_keeps_the_expected_start_time_and_waits_its_delay(project: Project) -> None:
    _deploy(project, delay=1)
    project.up()
    with project.client() as client:
        run_id = str(client.create_run("flaky").id)
        expected = client.run(run_id).run.expected_start_time
    wait_for(lambda: _in(project, run_id, "Completed", 2), 60, "the retry to complete")
    assert _run(project, run_id).run.expected_start_time == pytest.approx(expected, abs=1e-3)
    assert _shown_expected_start(project, run_id) == pytest.approx(expected, abs=1e-3)
    (_, _, first_due), (_, second_began, second_due) = _marks(project)
    assert first_due == second_due == pytest.approx(expected, abs=1e-3)
    retry = _awaiting_retry(project, run_id)
    assert second_began >= retry.timestamp + 1.0  # the delay was kept


def test_a_retry_awaited_across_a_kill_runs_at_its_scheduled_time(project: Project) -> None:
    delay = 6.0
    _deploy(project, delay)
    daemon = project.up()
    with project.client() as client:
        run_id = str(client.create_run("flaky").id)
        expected = client.run(run_id).run.expected_start_time
    wait_for(lambda: _in(project, run_id, "AwaitingRetry", 1), 60, "the run to await its retry")
    due = _run(project, run_id).run.next_scheduled_start_time
    assert due == pytest.approx(_awaiting_retry(project, run_id).timestamp + delay, abs=0.5)
    project.stop(daemon, signal.SIGKILL)
    project.up()
    assert _run(project, run_id).run.expected_start_time == pytest.approx(expected, abs=1e-3)
    wait_for(lambda: _in(project, run_id, "Completed", 2), 60, "the retry to complete")
    (_, _, _), (_, second_began, second_due) = _marks(project)
    assert second_began >= due  # not at once: at its scheduled time
    assert second_due == pytest.approx(expected, abs=1e-3)
    assert _run(project, run_id).run.expected_start_time == pytest.approx(expected, abs=1e-3)
