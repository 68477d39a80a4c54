"""Truth within 1 s against a real `orc up`: each change is made with the `orc` CLI, as a person in
another terminal would, and the open dashboard must show it within a second of the daemon
reporting it.

The clock starts when a second client, subscribed to the daemon's events,
sees the change happen (the daemon's own word), so the watcher's debounce of
a flows.toml edit and the CLI's own start-up are not counted against the
dashboard; what is measured is the dashboard's lag behind the daemon.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from orchestrate.client import AsyncClient
from orchestrate.client.protocol import EventInfo
from tests.tui.screen import screen_text, wait_for_text, wait_until
from tests.tui.test_live_daemon import SLOW, app_for, main_screen, orc
from tui.format import TIMES

SIZE = (120, 40)
LAG = 1.0  # seconds the dashboard may trail the daemon

AUTOMATION = """
[[automations]]
name = "poke-pauses-nested"
trigger = { event = "acme.poke" }
actions = [{ type = "pause-deployment", deployment = "nested" }]
"""


@dataclass
class Observer:
    """The daemon's events as a second client sees them, with when each arrived."""

    client: AsyncClient
    seen: list[tuple[float, EventInfo]] = field(default_factory=list)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def follow(self) -> None:
        async for note in self.client.subscribe(["event"]):
            self.seen.append((time.monotonic(), EventInfo.model_validate(note.data)))
            self._arrived.set()

    async def when(self, name: str, about: str = "", timeout: float = SLOW) -> float:
        """When the daemon first said `name` (or `name…`, for one ending in "."), about a resource
        id ending in `about`, waiting for it."""

        async def said() -> float:
            while True:
                for at, event in self.seen:
                    resource = event.resource.get("orc.resource.id", "")
                    said_it = (
                        event.event.startswith(name) if name.endswith(".") else event.event == name
                    )
                    if said_it and resource.endswith(about):
                        return at
                self._arrived.clear()
                await self._arrived.wait()

        return await asyncio.wait_for(said(), timeout)


@pytest.fixture
async def observer(live_daemon: Path) -> AsyncIterator[Observer]:
    client = await AsyncClient.connect(live_daemon, timeout=10)
    watching = Observer(client)
    task = asyncio.create_task(watching.follow())
    yield watching
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await client.close()


async def shown_within(
    pilot: object, since: float, condition: Callable[[], bool], what: str
) -> None:
    """`condition` holds by `LAG` seconds after `since` (a time the daemon reported a change)."""
    await wait_until(pilot, condition, max(0.0, since + LAG - time.monotonic()) + 0.05, what)  # type: ignore[arg-type]
    lag = time.monotonic() - since
    assert lag <= LAG + 0.05, f"{what} showed {lag:.2f}s after the daemon said it"


async def test_every_change_made_with_the_cli_shows_within_a_second(
    live_daemon: Path, observer: Observer
) -> None:
    async with app_for(live_daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "● slow ", timeout=SLOW)
        screen = main_screen(pilot)
        text = lambda: screen_text(pilot.app)  # noqa: E731

        await orc(live_daemon, "run", "slow")  # a run: listed, then counted running
        (run,) = await observer.client.runs()
        run_id, name = run.id, run.name
        created = await observer.when("orc.flow-run.", run_id)
        await shown_within(
            pilot, created, lambda: screen.dashboard.runs.get(run_id) is not None, "the run"
        )
        running = await observer.when("orc.flow-run.Running", run_id)
        await shown_within(pilot, running, lambda: "1 running" in text(), "1 running")

        await orc(live_daemon, "cancel", run_id)  # cancelled: its mark, and none running
        cancelled = await observer.when("orc.flow-run.Cancelled", run_id)
        await shown_within(
            pilot,
            cancelled,
            lambda: f"⊘ {name}" in text() and "0 running" in text(),
            "the run cancelled",
        )

        await orc(live_daemon, "pause", "slow")  # a pause: the paused mark
        paused = await observer.when("orc.deployment.paused", "slow")
        await shown_within(pilot, paused, lambda: "‖ slow" in text(), "slow paused")

        toml = live_daemon / "flows.toml"  # an added deployment and an automation
        good = toml.read_text() + '\n[[deployments]]\nname = "added"\nentrypoint = "flows.py:fan"\n'
        toml.write_text(good + AUTOMATION)
        added = await observer.when("orc.deployment.added", "added")
        await shown_within(
            pilot, added, lambda: "● added " in text() and "poke-pauses-nested" in text(), "added"
        )

        toml.write_text(good + AUTOMATION + "\n[[deployments]]\nname = 3\n")  # invalid
        invalid = await observer.when("orc.config.invalid")
        await shown_within(pilot, invalid, lambda: "flows.toml is invalid" in text(), "the banner")

        await orc(live_daemon, "emit", "acme.poke", "--resource", "acme.thing")  # a firing
        fired = await observer.when("orc.automation.triggered", "poke-pauses-nested")
        await shown_within(pilot, fired, lambda: f"1{TIMES}" in text(), "fired once")
        nested = await observer.when("orc.deployment.paused", "nested")
        await shown_within(pilot, nested, lambda: "‖ nested" in text(), "nested paused by it")

        toml.write_text(good.replace('name = "added"', 'name = "renamed"'))  # fixed, one gone
        reloaded = max(
            await observer.when("orc.deployment.removed", "added"),
            await observer.when("orc.deployment.added", "renamed"),
        )
        await shown_within(
            pilot,
            reloaded,
            lambda: (
                "● added " not in text()
                and "renamed" in text()
                and "flows.toml is invalid" not in text()
            ),
            "added gone, renamed there, no banner",
        )
