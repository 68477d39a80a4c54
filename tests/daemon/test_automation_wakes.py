"""The automations' deadline timer wakes for the events an automation looks at, not for every one.

A busy daemon raises several events a run (its states, its worker's start and
exit); waking the timer for each cost the loop a callback and a look at every
automation's deadline an event. A real
`Daemon` with its automations and their timer task; the runs go through the
same `transition` a dispatch and a worker's records take.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrate.config import load_config
from orchestrate.core.runs import transition
from orchestrate.core.states import State, StateType
from orchestrate.daemon.automations import Automations
from orchestrate.daemon.deployments import DeploymentTable
from orchestrate.daemon.service import Daemon
from tests.daemon.test_memory_per_run import DroppingWriter

pytestmark = pytest.mark.timeout(60)

FLOWS_TOML = """
[project]
name = "p"

[[deployments]]
name = "tiny"
entrypoint = "flows.py:tiny"

[[automations]]
name = "quiet-acme"
trigger = { posture = "proactive", event = "acme.done", after = ["acme.began"], within = "0.2s" }
actions = [{ type = "emit-event", event = "acme.missing", resource = { "orc.resource.id" = "acme.job" } }]
"""


@pytest.fixture
def callbacks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts every callback the loop runs (ready ones, timers, task steps)."""
    count = [0]
    run = asyncio.events.Handle._run

    def counted(handle: asyncio.events.Handle) -> None:
        count[0] += 1
        run(handle)

    monkeypatch.setattr(asyncio.events.Handle, "_run", counted)
    yield count


def _daemon(root: Path) -> Daemon:
    (root / "flows.py").write_text("def tiny() -> None:\n    pass\n")
    (root / "flows.toml").write_text(FLOWS_TOML)
    (root / ".orc").mkdir()
    config = load_config(root / "flows.toml")
    table = DeploymentTable(config, root / ".orc")
    daemon = Daemon(root, table, DroppingWriter(), lambda on_records: None)
    daemon.automations = Automations(daemon, config.automations)
    return daemon


SETTLE_STEPS = 5


async def _settle() -> None:
    """Let every callback already due run (the loop's ready queue drained a few times); it
    costs the loop `SETTLE_STEPS` callbacks of this test's own task."""
    for _ in range(SETTLE_STEPS):
        await asyncio.sleep(0)


async def test_run_events_no_automation_watches_leave_the_timer_asleep(
    tmp_path: Path, callbacks: list[int]
) -> None:
    daemon = _daemon(tmp_path)
    timer = asyncio.create_task(daemon.automations.watch_deadlines())
    await _settle()
    before = callbacks[0]
    states = ((StateType.PENDING, "Pending"), (StateType.RUNNING, "Running"))
    for _ in range(50):
        run = daemon.create_manual("tiny", {})
        for kind, name in (*states, (StateType.COMPLETED, "Completed")):
            transition(run, State(kind, name), daemon)  # each in a turn of the loop of its own
            await _settle()
    used = callbacks[0] - before - 150 * SETTLE_STEPS
    daemon.stopping = True
    timer.cancel()
    # 50 runs, 3 state events each: the timer woke for each one before (150 callbacks or more)
    assert used < 20, f"{used} callbacks of the loop for 150 events no automation looks at"


async def test_an_event_an_automation_watches_still_opens_its_window(tmp_path: Path) -> None:
    daemon = _daemon(tmp_path)
    fired = asyncio.Event()
    daemon.event_listeners.append(
        lambda event: fired.set() if event.event == "acme.missing" else None
    )
    timer = asyncio.create_task(daemon.automations.watch_deadlines())
    await _settle()
    from orchestrate.daemon.state_events import daemon_event

    daemon.emit(daemon_event("acme.began", "acme.job"))
    await asyncio.wait_for(fired.wait(), 10)
    daemon.stopping = True
    timer.cancel()
