"""What happens to other runs, and to a cancel, while one run's worker is being started.

A start can take long: a cold spawn, a zygote that is still importing a
deployment's `preload`, a loaded machine. Holding a start at that point needs a
supervisor that waits on the test, so the supervisor here is a stand-in; the
daemon, its deployment table, its dispatcher and its loop are the real ones.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrate.config.loader import load_config
from orchestrate.core.runs import transition
from orchestrate.core.states import State, StateType
from orchestrate.daemon.deployments import DeploymentTable
from orchestrate.daemon.service import Daemon
from tests.daemon.conftest import Project, wait_for
from tests.daemon.test_stop_during_start import DroppingWriter, Exit


@dataclass
class FirstStartHeld:
    """A supervisor whose first start waits for `go`; the others start at once. Its
    workers run until cancelled or abandoned."""

    daemon: Daemon | None = None
    held: asyncio.Event = field(default_factory=asyncio.Event)
    go: asyncio.Event = field(default_factory=asyncio.Event)
    started: list[str] = field(default_factory=list)
    another: asyncio.Event = field(default_factory=asyncio.Event)
    workers: dict[str, Worker] = field(default_factory=dict)
    made: asyncio.Event = field(default_factory=asyncio.Event)
    #: The held start fails with this once let go (as a start fails on an error in orc).
    failure: Exception | None = None
    #: The held start gives a worker that never started (its spawn failed: a bad `python`,
    #: no file descriptors left), which ends its run Crashed at once, as the supervisor does.
    never_started: bool = False

    async def start(self, spec: Any) -> Worker:
        if not self.held.is_set():
            self.held.set()
            await self.go.wait()
            if self.failure is not None:
                raise self.failure
        else:
            self.another.set()
        self.started.append(spec.flow_run_id)
        worker = self.workers[spec.flow_run_id] = Worker(self, spec)
        self.made.set()
        if self.never_started and len(self.started) == 1:
            worker.abandon_soon("The worker could not be started: [Errno 2] No such file")
        return worker


@dataclass
class Worker:
    supervisor: FirstStartHeld
    spec: Any
    pid: int = 4242
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    cancelled: list[str] = field(default_factory=list)

    async def wait(self) -> Exit:
        await self.ended.wait()
        run = self._run()
        return Exit(run.state)

    async def cancel(self, reason: str = "") -> Exit:
        self.cancelled.append(reason)
        return self._end(StateType.CANCELLED, reason)

    async def abandon(self, reason: str) -> Exit:
        return self._end(StateType.CRASHED, reason)

    def abandon_soon(self, reason: str) -> None:
        asyncio.get_running_loop().call_soon(self._end, StateType.CRASHED, reason)

    def _end(self, state: StateType, reason: str) -> Exit:
        run = self._run()
        if not run.state.is_final():
            transition(run, State(state, message=reason), self.supervisor.daemon)
        self.ended.set()
        return Exit(run.state)

    def _run(self) -> Any:
        daemon = self.supervisor.daemon
        assert daemon is not None
        run = daemon.known_run(self.spec.flow_run_id)
        assert run is not None
        return run


def _daemon(root: Path, supervisor: FirstStartHeld, clock: Any = None, retries: int = 0) -> Daemon:
    (root / "flows.py").write_text("def tiny() -> None:\n    pass\n")
    (root / "flows.toml").write_text(
        '[project]\nname = "p"\n\n[[deployments]]\nname = "tiny"\nentrypoint = "flows.py:tiny"\n'
        f"retries = {retries}\n"
    )
    (root / ".orc").mkdir()
    table = DeploymentTable(load_config(root / "flows.toml"), root / ".orc")
    kwargs = {} if clock is None else {"clock": clock}
    daemon = Daemon(root, table, DroppingWriter(), lambda on_records: supervisor, **kwargs)
    supervisor.daemon = daemon
    return daemon


async def test_a_run_asked_for_while_another_starts_is_started_without_another_wake(
    tmp_path: Path,
) -> None:
    """The wake a new run gives while the dispatcher is busy starting another must not be
    lost: the first run's worker goes on for good here, so nothing else would wake it. The
    clock stands still, so the second run is due at the very time the busy round began (on
    a real clock: a run due by then, such as a retry whose delay ran out meanwhile)."""
    supervisor = FirstStartHeld()
    daemon = _daemon(tmp_path, supervisor, clock=lambda: 1_800_000_000.0)
    first = daemon.create_manual("tiny", {})
    async with _first_start_held(daemon, supervisor):
        second = daemon.create_manual("tiny", {})  # wakes the dispatcher, which is busy
        supervisor.go.set()
        await asyncio.wait_for(supervisor.another.wait(), 5)
        assert supervisor.started == [first.id, second.id]


async def test_a_cancel_while_the_worker_starts_stops_that_worker_once_it_exists(
    tmp_path: Path,
) -> None:
    """Cancelled before its worker existed, the run used to end Cancelled at once while its
    worker went on to start and run the flow; now it is Cancelling until that worker is
    stopped."""
    supervisor = FirstStartHeld()
    daemon = _daemon(tmp_path, supervisor)
    run = daemon.create_manual("tiny", {})
    async with _first_start_held(daemon, supervisor):
        answer = await asyncio.wait_for(daemon.cancel(run), 5)
        assert answer.state.type is StateType.CANCELLING, answer.state
        supervisor.go.set()
        await asyncio.wait_for(supervisor.made.wait(), 5)
        worker = supervisor.workers[run.id]
        await asyncio.wait_for(worker.ended.wait(), 5)
        assert worker.cancelled == ["cancelled by request"]
        assert run.state.type is StateType.CANCELLED, run.state


async def test_a_run_cancelled_while_its_start_fails_ends_cancelled_and_is_not_retried(
    tmp_path: Path,
) -> None:
    """A cancel, then the start fails outright (an error in orc, not in the flow): the run
    used to end Crashed and, with retries left, be started again, though it was cancelled."""
    supervisor = FirstStartHeld(failure=RuntimeError("the fork server went away"))
    daemon = _daemon(tmp_path, supervisor, retries=3)
    run = daemon.create_manual("tiny", {})
    async with _first_start_held(daemon, supervisor):
        await asyncio.wait_for(daemon.cancel(run), 5)
        supervisor.go.set()
        await asyncio.wait_for(_until(lambda: run.id not in daemon.starting), 5)
        assert run.state.type is StateType.CANCELLED, run.state
        assert "the fork server went away" in (run.state.message or "")
        assert run.run_count == 1 and not supervisor.another.is_set()


async def test_a_run_cancelled_while_its_worker_never_started_is_not_retried(
    tmp_path: Path,
) -> None:
    """The usual way a start fails: the worker cannot be spawned, and its run ends Crashed.
    A cancel that came meanwhile was lost there, and the run, with retries left, was started
    again."""
    supervisor = FirstStartHeld(never_started=True)
    daemon = _daemon(tmp_path, supervisor, retries=3)
    run = daemon.create_manual("tiny", {})
    async with _first_start_held(daemon, supervisor):
        await asyncio.wait_for(daemon.cancel(run), 5)
        supervisor.go.set()

        def over() -> bool:  # ended for good, or started again
            idle = run.id not in daemon.handles and run.id not in daemon.starting
            return len(supervisor.started) > 1 or (idle and run.state.is_final())

        await asyncio.wait_for(_until(over), 5)
        assert supervisor.started == [run.id], "the cancelled run was started again"
        assert run.state.type is StateType.CRASHED and run.run_count == 1, run.state


async def test_a_due_run_cancelled_while_an_earlier_one_starts_is_not_started(
    tmp_path: Path,
) -> None:
    """Both runs were taken in one round; the second was cancelled while the first's start
    was awaited, and the round went on to start it anyway."""
    supervisor = FirstStartHeld()
    daemon = _daemon(tmp_path, supervisor, clock=lambda: 1_800_000_000.0)
    first = daemon.create_manual("tiny", {})
    second = daemon.create_manual("tiny", {})
    async with _first_start_held(daemon, supervisor) as serving:
        await asyncio.wait_for(daemon.cancel(second), 5)
        assert second.state.type is StateType.CANCELLED
        supervisor.go.set()
        await asyncio.wait_for(_until(lambda: first.id in daemon.handles), 5)
        await asyncio.wait_for(_until(lambda: not daemon.starting), 5)
        assert supervisor.started == [first.id]
        assert second.state.type is StateType.CANCELLED and second.run_count == 0
        assert not serving.done()


@asynccontextmanager
async def _first_start_held(
    daemon: Daemon, supervisor: FirstStartHeld
) -> AsyncIterator[asyncio.Task[None]]:
    """The daemon serving, once its first start is held (until `supervisor.go`); stopped after."""
    serving = asyncio.create_task(daemon.serve())
    try:
        await asyncio.wait_for(supervisor.held.wait(), 10)
        yield serving
    finally:
        await daemon.stop(grace=0.1)
        await asyncio.wait_for(serving, 10)


async def _until(condition: Any) -> None:
    while not condition():
        await asyncio.sleep(0.01)


SLOW_FLOWS = """
    import pathlib
    import time

    from orchestrate import flow


    @flow
    def slow() -> None:
        pathlib.Path("began").touch()
        time.sleep(60)
        pathlib.Path("finished").touch()
"""


def test_a_run_cancelled_before_its_worker_answered_ends_cancelled_with_no_worker_left(
    project: Project,
) -> None:
    """A real `orc up` whose deployment's interpreter takes 3 s to start: `orc cancel` comes
    while the daemon waits for that worker. The worker used to run the flow for its whole
    60 s under a run already shown Cancelled; now it is stopped as soon as it answers."""
    slow_python = project.write(
        "slow-python", f'#!/bin/sh\nsleep 3\nexec "{sys.executable}" "$@"\n'
    )
    slow_python.chmod(0o755)
    project.write("flows.py", SLOW_FLOWS)
    project.write(
        "flows.toml",
        f"""
        [project]
        name = "p"

        [[deployments]]
        name = "slow"
        entrypoint = "flows.py:slow"
        python = "{slow_python}"
        """,
    )
    project.up()
    run_id = project.orc("run", "slow").stdout.split()[1]
    answer = project.orc("cancel", run_id)
    assert answer.returncode == 0 and "Cancelling" in answer.stdout, answer.stdout + answer.stderr
    waited = project.orc("cancel", run_id, "--wait", timeout=30)
    assert waited.returncode == 0 and "Cancelled" in waited.stdout, waited.stdout + waited.stderr
    assert not (project.root / "finished").exists()
    wait_for(lambda: not _processes_of(run_id), 10, "no process of the run left")


def _processes_of(run_id: str) -> list[int]:
    """Processes whose environment marks them as the run's (`ORC_RUN_SCOPE`), as `orc up`
    marks every process of a run, forked or cold."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as file:
                environ = file.read()
        except OSError:
            continue
        if f"/{run_id}".encode() in environ and b"ORC_RUN_SCOPE=" in environ:
            found.append(int(entry))
    return found
