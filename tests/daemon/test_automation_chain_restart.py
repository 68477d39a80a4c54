"""A run an automation made still names it after `orc up` starts again, so no loop comes back.

The daemon remembers which automations made a run while the run lives, and
every event of the run names them: an automation never reacts to an event
naming it. That memory died with `orc up`: a made run still waiting when orc
up stopped (or was killed) named nobody after the restart, and an automation
"on quick Completed, run quick" ran quick once more.
"""

from __future__ import annotations

import signal
from typing import Any

import pytest

from tests.daemon.conftest import Project, wait_for

pytestmark = pytest.mark.timeout(120)

FLOWS = '''
    import os
    import time

    from orchestrate import flow


    @flow
    def gate(x: int = 1, hold: str = "") -> int:
        """Wait for the file `hold` if named (a minute at most), then finish."""
        deadline = time.monotonic() + 60
        while hold and not os.path.exists(hold) and time.monotonic() < deadline:
            time.sleep(0.05)
        return x
'''
CONFIG = """
    [[deployments]]
    name = "quick"
    entrypoint = "flows.py:gate"
    concurrency_limit = 1

    [[automations]]
    name = "again"
    trigger = { event = "orc.flow-run.Completed", match = { deployment = "quick" } }
    actions = [{ type = "run-deployment", deployment = "quick", parameters = { x = 2 } }]

    [[automations]]
    name = "marker"
    trigger = { event = "acme.marker" }
    actions = [{ type = "emit-event", event = "acme.marker.seen" }]
"""
AGAIN = {"orc.resource.id": "orc.automation.again", "orc.resource.role": "automation"}


def _events(project: Project, name: str, resource: str | None = None) -> list[Any]:
    with project.client() as client:
        return client.events(name=name, resource=resource, limit=500)


def _run(project: Project, run_id: str) -> Any:
    with project.client() as client:
        return client.run(run_id).run


def _made(project: Project) -> list[Any]:
    return [r for r in project.runs(deployment="quick") if r.parameters.get("x") == 2]


def _made_and_waiting(project: Project, blocker_id: str) -> Any:
    """The run `again` made, once it waits for the slot `blocker` holds, its action told."""
    made = _made(project)
    if not made or _run(project, blocker_id).state.name != "Running":
        return None
    told = _events(project, "orc.automation.action.executed")
    return made[0] if told and made[0].state.type == "SCHEDULED" else None


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_a_made_run_still_waiting_at_a_restart_does_not_start_its_automation_again(
    project: Project, stop: signal.Signals
) -> None:
    project.write("flows.py", FLOWS)
    project.write("flows.toml", CONFIG)
    try:
        daemon = project.up("--grace", "1")
        with project.client() as client:
            first = client.create_run("quick", {"hold": "first-go"})
            wait_for(lambda: _run(project, first.id).state.name == "Running", 30, "first to run")
            blocker = client.create_run("quick", {"hold": "blocker-go"})  # next in line
        (project.root / "first-go").touch()  # first completes: `again` makes a run of quick
        made = wait_for(lambda: _made_and_waiting(project, blocker.id), 30, "the made run")
        project.stop(daemon, stop)

        project.up()
        mine = f"orc.flow-run.{made.id}"
        done = wait_for(lambda: _events(project, "orc.flow-run.Completed", mine), 30, "made run")
        assert AGAIN in done[0].related
        # Events are handled in order: once the marker's answer is stored, so is any firing
        # the made run's Completed caused.
        assert project.orc("emit", "acme.marker", "--resource", "acme.x").returncode == 0
        wait_for(lambda: _events(project, "acme.marker.seen"), 30, "the marker's answer")
        again = _events(project, "orc.automation.triggered", "orc.automation.again")
        assert len(again) == 1
        assert len(_made(project)) == 1
    finally:
        (project.root / "blocker-go").touch()
