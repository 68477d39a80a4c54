"""`orc up` stopping while a run's worker is being started: the run is not left Pending.

A stop that came while `attempts.start` waited for its worker used to find no
handle yet, so it waited for nothing, and the scheduler task was then
cancelled mid-start: the run stayed Pending in the store for good (the
fault suite's "not stuck" check caught it after a SIGTERM). Holding a start at
that exact point needs a supervisor that waits on the test, so this one is a
stand-in; the daemon, its deployment table and its loop are the real ones.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrate.config.loader import load_config
from orchestrate.core.runs import transition
from orchestrate.core.states import State, StateType
from orchestrate.daemon.deployments import DeploymentTable
from orchestrate.daemon.service import Daemon


class DroppingWriter:
    def put(self, record: Any) -> None:
        pass

    def flush(self, timeout: float | None = None, hurry: bool = True) -> bool:
        return True


@dataclass
class Exit:
    final_state: State
    needs_a_fix: bool = False


@dataclass
class HeldStart:
    """A supervisor whose start waits for `go`; its worker ends when abandoned."""

    daemon: Daemon | None = None
    starting: asyncio.Event = field(default_factory=asyncio.Event)
    go: asyncio.Event = field(default_factory=asyncio.Event)
    abandoned: list[str] = field(default_factory=list)

    async def start(self, spec: Any) -> Any:
        self.starting.set()
        await self.go.wait()
        return Worker(self, spec)


@dataclass
class Worker:
    supervisor: HeldStart
    spec: Any
    pid: int = 4242
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait(self) -> Exit:
        await self.ended.wait()
        return Exit(State(StateType.CRASHED, message="stopped"))

    async def abandon(self, reason: str) -> Exit:
        self.supervisor.abandoned.append(reason)
        daemon = self.supervisor.daemon
        assert daemon is not None
        run = daemon.known_run(self.spec.flow_run_id)
        assert run is not None
        transition(run, State(StateType.CRASHED, message=reason), daemon)
        self.ended.set()
        return Exit(run.state)


def _daemon(root: Path, supervisor: HeldStart) -> Daemon:
    (root / "flows.py").write_text("def tiny() -> None:\n    pass\n")
    (root / "flows.toml").write_text(
        '[project]\nname = "p"\n\n[[deployments]]\nname = "tiny"\nentrypoint = "flows.py:tiny"\n'
    )
    (root / ".orc").mkdir()
    table = DeploymentTable(load_config(root / "flows.toml"), root / ".orc")
    daemon = Daemon(root, table, DroppingWriter(), lambda on_records: supervisor)
    supervisor.daemon = daemon
    return daemon


async def test_a_stop_during_a_start_waits_for_the_worker_then_stops_it(tmp_path: Path) -> None:
    supervisor = HeldStart()
    daemon = _daemon(tmp_path, supervisor)
    run = daemon.create_manual("tiny", {})
    serving = asyncio.create_task(daemon.serve())
    await asyncio.wait_for(supervisor.starting.wait(), 10)
    assert run.state.type is StateType.PENDING  # "starting a worker (attempt 1)"

    stopping = asyncio.create_task(daemon.stop(grace=0.2))
    await asyncio.sleep(0)  # the stop has begun (one turn of the loop), the start is still held
    supervisor.go.set()
    await asyncio.wait_for(stopping, 10)

    assert supervisor.abandoned == ["orc up stopped before this run finished."]
    assert run.state.type is StateType.CRASHED, run.state
    await asyncio.wait_for(serving, 10)


async def test_a_stop_between_two_starts_leaves_the_second_run_scheduled(tmp_path: Path) -> None:
    supervisor = HeldStart()
    daemon = _daemon(tmp_path, supervisor)
    first = daemon.create_manual("tiny", {})
    second = daemon.create_manual("tiny", {})
    serving = asyncio.create_task(daemon.serve())
    await asyncio.wait_for(supervisor.starting.wait(), 10)
    stopping = asyncio.create_task(daemon.stop(grace=0.2))
    await asyncio.sleep(0)
    supervisor.go.set()
    await asyncio.wait_for(stopping, 10)
    await asyncio.wait_for(serving, 10)

    started = [r for r in (first, second) if r.state.type is StateType.CRASHED]
    assert len(started) == 1  # one was under way and got its worker, then was stopped
    left = first if started == [second] else second
    assert left.state.type is StateType.SCHEDULED, left.state  # the next orc up starts it
