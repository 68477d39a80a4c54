"""The screen stays true: counts, pause marks, new deployments, automation firings and config errors
show within a second of the daemon reporting them, with no key pressed.

The daemon pushes run changes, deployments (added, changed, removed), its
status (counts, a config error) and events; an automation's firing comes as an
event only, after which the dashboard asks for the automations again. The
status is never polled: the heartbeat is a hello.
"""

from __future__ import annotations

from typing import Any

import pytest

from orchestrate.client.protocol import DeploymentInfo, EventInfo
from tests.tui.conftest import make_app
from tests.tui.fake_daemon import NOW, FakeDaemon, state
from tests.tui.screen import screen_text, wait_for_text, wait_until
from tui.format import TIMES

SIZE = (120, 40)


def event(name: str, resource: str) -> dict[str, Any]:
    return EventInfo(
        id=f"ev-{name}", occurred=NOW, event=name, resource={"orc.resource.id": resource}
    ).model_dump()


async def test_the_header_counts_a_run_that_starts_at_once(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "1 running")
        started = daemon.runs[3].model_copy(
            update={"state": state("Running", "RUNNING", NOW), "start_time": NOW}
        )
        daemon.push("flow_run", started)  # the stand-in's status still says one
        await wait_for_text(pilot, "2 running", timeout=1.0)


async def test_pausing_from_the_tui_shows_the_paused_mark(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await pilot.press("1", "home", "down", "p")  # nightly-etl
        await wait_until(
            pilot,
            lambda: "‖ nightly-etl" in screen_text(pilot.app),
            timeout=1.0,
            what="the paused mark",
        )


async def test_a_deployment_added_to_flows_toml_appears(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "brave-fox")
        fresh = DeploymentInfo(name="fresh-one", entrypoint="etl.py:fresh")
        daemon.push("deployment", fresh)
        await wait_for_text(pilot, "fresh-one", timeout=1.0)
        # removed again, and a pause made with the CLI
        daemon.push("deployment", fresh.model_copy(update={"removed": True}))
        daemon.push("deployment", daemon.deployments[0].model_copy(update={"paused": True}))
        await wait_until(
            pilot,
            lambda: (
                "fresh-one" not in screen_text(pilot.app)
                and "‖ nightly-etl" in screen_text(pilot.app)
            ),
            timeout=1.0,
            what="fresh-one gone and nightly-etl paused",
        )


async def test_an_automation_that_fires_shows_its_count(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, f"1{TIMES} 58m ago")
        daemon.automations[0] = daemon.automations[0].model_copy(
            update={"fired_count": 2, "last_fired": NOW - 5}
        )
        daemon.push(
            "event", event("orc.automation.triggered", "orc.automation.cleanup-after-failure")
        )
        await wait_for_text(pilot, f"2{TIMES} 5s ago", timeout=1.0)


async def test_an_invalid_flows_toml_shows_as_a_banner_with_the_place_and_reason(
    daemon: FakeDaemon,
) -> None:
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "brave-fox")
        daemon.config_error = "flows.toml:12:5: deployments[1].schedules[0].cron: bad cron 'x'"
        daemon.push("status", daemon.status())
        await wait_for_text(pilot, "flows.toml:12:5", timeout=1.0)
        assert "bad cron" in screen_text(pilot.app)
        daemon.config_error = None
        daemon.push("status", daemon.status())
        await wait_until(
            pilot, lambda: "flows.toml:12:5" not in screen_text(pilot.app), timeout=1.0
        )


async def test_the_status_is_pushed_and_never_polled(
    daemon: FakeDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tui.screens.main.HEARTBEAT_SECONDS", 0.02)
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await wait_until(pilot, lambda: daemon.asked["hello"] >= 10, what="ten heartbeats")
        assert daemon.asked["status"] == 1  # the first picture's, and no other


async def test_the_header_names_the_ssh_host_the_version_and_the_time_zone(
    daemon: FakeDaemon,
) -> None:
    from orchestrate.client.address import SshAddress
    from tests.tui.conftest import FROZEN
    from tests.tui.fake_daemon import FakeClient
    from tui.app import OrcApp
    from tui.client import DashboardClient

    async def connect() -> DashboardClient:
        client = FakeClient(daemon)
        client.address = SshAddress("ops@box")  # type: ignore[attr-defined]
        return client  # type: ignore[return-value]

    app = OrcApp(connect, "ops@box", clock=FROZEN)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_text(pilot, "on ops@box")
        header = screen_text(pilot.app).splitlines()[0]
        assert "v0.1.0" in header and "times in UTC" in header
