"""Real workers on small flow files in `tmp_path`, watched by a real supervisor.

`Recorder` is the supervisor's `on_records`: it keeps every record in order
and lets a test wait until a condition on them holds, without polling.
"""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from orchestrate.core.records import (
    EdgeRecord,
    EventRecord,
    FlowRunRecord,
    LogRecord,
    Record,
    StateRecord,
    TaskRunRecord,
)
from orchestrate.daemon.supervisor import Supervisor, WorkerHandle
from orchestrate.daemon.worker_exit import WorkerExit
from orchestrate.worker.spec import RunSpec

FLOW_RUN_ID = "7f0c1d2e-0000-4000-8000-000000000001"


@dataclass
class Recorder:
    """Everything the supervisor handed on, in order."""

    records: list[Record] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, batch: list[Record]) -> None:
        self.records.extend(batch)
        self._changed.set()

    async def wait_for(self, condition: Callable[[Recorder], Any], timeout: float = 10.0) -> Any:
        """The first truthy `condition(self)`, re-checked each time records arrive."""
        async with asyncio.timeout(timeout):
            while not (found := condition(self)):
                self._changed.clear()
                await self._changed.wait()
        return found

    def flow_run(self, run_id: str = FLOW_RUN_ID) -> FlowRunRecord:
        runs = [r for r in self.records if isinstance(r, FlowRunRecord) and r.id == run_id]
        assert runs, f"no flow run {run_id} among {len(self.records)} records"
        return runs[-1]

    def task_runs(self) -> dict[str, TaskRunRecord]:
        return {r.name: r for r in self.records if isinstance(r, TaskRunRecord)}

    def history(self, run_id: str = FLOW_RUN_ID) -> list[str]:
        return [
            r.state.name for r in self.records if isinstance(r, StateRecord) and r.run_id == run_id
        ]

    def edges(self) -> list[EdgeRecord]:
        return [r for r in self.records if isinstance(r, EdgeRecord)]

    def logs(self, logger: str | None = None) -> list[LogRecord]:
        return [r for r in self.records if isinstance(r, LogRecord) and logger in (None, r.logger)]

    def messages(self, logger: str | None = None) -> list[str]:
        return [r.message for r in self.logs(logger)]

    def events(self) -> list[EventRecord]:
        return [r for r in self.records if isinstance(r, EventRecord)]


@dataclass
class Project:
    """A project folder with flow files, and a supervisor that runs them."""

    root: Path
    recorder: Recorder
    supervisor: Supervisor

    def write(self, name: str, source: str) -> str:
        (self.root / name).write_text(textwrap.dedent(source))
        return name

    def spec(self, entrypoint: str, **fields: Any) -> RunSpec:
        values: dict[str, Any] = {
            "flow_run_id": FLOW_RUN_ID,
            "flow_run_name": "test-run",
            "deployment": "test-deployment",
            "entrypoint": entrypoint,
            "project_root": str(self.root),
        }
        return RunSpec(**{**values, **fields})

    async def start(self, entrypoint: str, **fields: Any) -> WorkerHandle:
        return await self.supervisor.start(self.spec(entrypoint, **fields))

    async def run(self, entrypoint: str, timeout: float = 30.0, **fields: Any) -> WorkerExit:
        handle = await self.start(entrypoint, **fields)
        async with asyncio.timeout(timeout):
            return await handle.wait()


@pytest.fixture
def project(tmp_path: Path) -> Project:
    recorder = Recorder()
    return Project(tmp_path, recorder, Supervisor(recorder, kill_grace=1.0))
