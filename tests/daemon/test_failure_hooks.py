"""A flow's `on_failure` hooks run once, when its run fails for good, with `retries` in flows.toml.

As in Prefect, where a retried attempt goes to AwaitingRetry and `on_failure` waits for
the last one: with `retries = 2` they ran three times, so an alert hook alerted three times.
"""

from __future__ import annotations

import json

import pytest

from tests.daemon.conftest import Project, wait_for

pytestmark = pytest.mark.timeout(120)

HOOKED = """
from pathlib import Path

from orchestrate import flow


def noted(flow_, run, state) -> None:
    with open(Path(__file__).parent / "hooks.txt", "a") as out:
        out.write(f"{state.name} attempt {run.run_count}\\n")


@flow(on_failure=[noted], on_crashed=[noted])
def fails() -> None:
    raise ValueError("always")
"""


def test_on_failure_runs_once_after_the_last_attempt(project: Project) -> None:
    project.write("flows.py", HOOKED)
    project.write(
        "flows.toml",
        '[[deployments]]\nname = "fails"\nentrypoint = "flows.py:fails"\nretries = 2\n',
    )
    project.up()
    with project.client() as client:
        run_id = client.create_run("fails").id

    def settled() -> dict[str, object] | None:
        shown = json.loads(project.orc("runs", "show", run_id, "--json").stdout)
        return shown if shown["state_name"] == "Failed" and shown["run_count"] == 3 else None

    wait_for(settled, 60, "the run to fail its third attempt")
    assert (project.root / "hooks.txt").read_text().splitlines() == ["Failed attempt 3"]


def test_on_failure_runs_when_in_process_retries_spent_the_daemons_count(project: Project) -> None:
    """`@flow(retries=1)` under `retries = 1`: the worker's two tries spend the run's one
    retry, so the daemon does not try again, and the hooks must run then; they were skipped
    because the daemon had said at dispatch that a failure would be retried."""
    project.write("flows.py", HOOKED.replace("@flow(on_failure", "@flow(retries=1, on_failure"))
    project.write(
        "flows.toml",
        '[[deployments]]\nname = "fails"\nentrypoint = "flows.py:fails"\nretries = 1\n',
    )
    project.up()
    with project.client() as client:
        run_id = client.create_run("fails").id

    def settled() -> dict[str, object] | None:
        shown = json.loads(project.orc("runs", "show", run_id, "--json").stdout)
        return shown if shown["state_name"] == "Failed" else None

    wait_for(settled, 60, "the run to fail")
    wait_for(lambda: (project.root / "hooks.txt").exists(), 30, "the on_failure hook")
    assert (project.root / "hooks.txt").read_text().splitlines() == ["Failed attempt 2"]
