"""Engine tests record into an in-memory sink: the records are the engine's output contract.

Tests that need the records in DuckDB use the real store (see tests/store, tests/cli).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

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
from orchestrate.recording import set_sink


@dataclass
class MemorySink:
    """Keeps every record, in order, like a store would receive them."""

    records: list[Record] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, record: Record) -> None:
        with self.lock:
            self.records.append(record)

    def flush(self, timeout: float | None = None) -> bool:
        return True

    def close(self) -> None:
        pass

    # --- reading what was recorded ---

    def flow_runs(self) -> list[FlowRunRecord]:
        return _unique(r for r in self.records if isinstance(r, FlowRunRecord))

    def task_runs(self, flow_run_id: str | None = None) -> list[TaskRunRecord]:
        runs = _unique(r for r in self.records if isinstance(r, TaskRunRecord))
        return [r for r in runs if flow_run_id is None or r.flow_run_id == flow_run_id]

    def task_run(self, name: str) -> TaskRunRecord:
        matches = [r for r in self.task_runs() if r.name == name]
        assert len(matches) == 1, (
            f"expected one task run named {name!r}, got {[r.name for r in self.task_runs()]}"
        )
        return matches[0]

    def history(self, run_id: str) -> list[str]:
        return [
            r.state.name for r in self.records if isinstance(r, StateRecord) and r.run_id == run_id
        ]

    def edges(self) -> set[tuple[str, str, str]]:
        """(upstream name, downstream name, kind) for every recorded edge."""
        names = {r.id: r.name for r in self.task_runs()}
        return {
            (names[e.upstream_id], names[e.task_run_id], e.kind)
            for e in self.records
            if isinstance(e, EdgeRecord)
        }

    def logs(self) -> list[LogRecord]:
        return [r for r in self.records if isinstance(r, LogRecord)]

    def events(self) -> list[EventRecord]:
        return [r for r in self.records if isinstance(r, EventRecord)]


def _unique(runs):  # type: ignore[no-untyped-def]
    seen: dict[str, object] = {}
    for run in runs:
        seen[run.id] = run
    return list(seen.values())


@pytest.fixture
def recorded(tmp_path, monkeypatch) -> Iterator[MemorySink]:
    """Run flows in an empty project folder, recording into memory."""
    monkeypatch.setenv("ORC_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    sink = MemorySink()
    previous = set_sink(sink)
    yield sink
    set_sink(previous)
