"""Failures explained where users look: `orc runs show` and `orc logs` say the same with `orc up` running or not."""

from __future__ import annotations

import json

import pytest

from tests.daemon.conftest import FLOWS, Project, wait_for

pytestmark = pytest.mark.timeout(120)

TASK_FAILS = """

    @task
    def load(rows: int) -> int:
        raise KeyError("customer_id")


    @flow
    def etl() -> None:
        load(3)
"""


def _shown(project: Project, run_id: str) -> tuple[dict[str, object], str, str]:
    as_json = project.orc("runs", "show", run_id, "--json")
    text = project.orc("runs", "show", run_id)
    logs = project.orc("logs", run_id)
    for result in (as_json, text, logs):
        assert result.returncode == 0, result.stderr
    return json.loads(as_json.stdout), text.stdout, logs.stdout


def test_runs_show_and_logs_have_the_traceback_with_the_daemon_up_or_down(project: Project) -> None:
    project.write("flows.py", FLOWS + TASK_FAILS)
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "fails"
        entrypoint = "flows.py:fails"
        retries = 0

        [[deployments]]
        name = "etl"
        entrypoint = "flows.py:etl"
        retries = 0
    """,
    )
    project.up()
    with project.client() as client:
        flow_raised, task_raised = client.create_run("fails"), client.create_run("etl")
    for deployment in ("fails", "etl"):
        wait_for(lambda d=deployment: [r for r in project.runs(deployment=d) if r.state.type == "FAILED"],
                 30, f"the {deployment} run to fail")  # fmt: skip
    up = {run.id: _shown(project, run.id) for run in (flow_raised, task_raised)}
    listed_up = json.loads(project.orc("runs", "ls", "--json").stdout)
    project.stop()
    down = {run.id: _shown(project, run.id) for run in (flow_raised, task_raised)}
    listed_down = json.loads(project.orc("runs", "ls", "--json").stdout)
    assert listed_up == listed_down and all(r["expected_start_time"] for r in listed_up)

    data, text, logs = up[flow_raised.id]
    assert data["error"]["type"] == "ValueError"
    assert (
        'flows.py", line' in data["error"]["traceback"] and "in fails" in data["error"]["traceback"]
    )
    assert "Traceback (most recent call last)" in text and "in fails" in text
    assert (
        "in fails" in logs and "this flow always fails" in logs
    )  # no task run logged it: orc logs adds it
    assert data["expected_start_time"] is not None
    data, text, logs = up[task_raised.id]
    [load] = data["task_run_details"]
    assert load["error"]["type"] == "KeyError" and "in load" in load["error"]["traceback"]
    assert "Error in task run load" in text and "in load" in text
    assert "in load" in logs
    assert up == down  # the same content, daemon up or down
