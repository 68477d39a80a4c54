"""A scheduled run and the slot it was made for are stored together, or not at all.

They used to reach the store's writer as separate records, so a batch could
end between them. `kill -9` of `orc up` right then left the run stored without
its slot row: the next `orc up` did not know the slot was taken and made a
second run for it, and both would have run at the slot's time (the fault
suite's `slot_once` check caught it). The writer here records what it is
given; the daemon and its deployment table are the real ones.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from orchestrate.config.loader import load_config
from orchestrate.core.records import FlowRunRecord
from orchestrate.daemon.deployments import DeploymentTable
from orchestrate.daemon.service import Daemon
from orchestrate.store import StoreWriter
from orchestrate.store.batch import SlotRecord, StoredTogether
from orchestrate.store.connection import connect


class KeepingWriter:
    def __init__(self) -> None:
        self.put_calls: list[Any] = []

    def put(self, record: Any) -> None:
        self.put_calls.append(record)


def _daemon(root: Path, writer: Any) -> Daemon:
    (root / "flows.py").write_text("def tiny() -> None:\n    pass\n")
    (root / "flows.toml").write_text(
        '[project]\nname = "p"\n\n[[deployments]]\nname = "tiny"\n'
        'entrypoint = "flows.py:tiny"\nschedules = [{ interval = "60s" }]\n'
    )
    (root / ".orc").mkdir()
    table = DeploymentTable(load_config(root / "flows.toml"), root / ".orc")
    return Daemon(root, table, writer, lambda on_records: None)


def test_each_planned_run_reaches_the_writer_in_one_group_with_its_slot(tmp_path: Path) -> None:
    writer = KeepingWriter()
    daemon = _daemon(tmp_path, writer)
    assert daemon.plan() > 0
    runs = [r for r in writer.put_calls if isinstance(r, FlowRunRecord)]
    assert runs == [], "a run was put on its own, apart from its slot"
    groups = [g for g in writer.put_calls if isinstance(g, StoredTogether)]
    assert groups
    for group in groups:
        (run,) = [r for r in group.records if isinstance(r, FlowRunRecord)]
        (slot,) = [r for r in group.records if isinstance(r, SlotRecord)]
        assert slot.flow_run_id == run.id


def test_a_group_is_stored_whole(tmp_path: Path, build: SimpleNamespace) -> None:
    path = tmp_path / "orc.duckdb"
    writer = StoreWriter(path)
    run = build.flow_run("planned", deployment="tiny")
    slot = SlotRecord("tiny/0/1796608311.000", "planned", "tiny", "0", 1796608311.0)
    writer.put(StoredTogether((run, slot)))
    writer.close()
    with connect(path) as conn:
        assert conn.execute("SELECT id FROM flow_runs").fetchall() == [("planned",)]
        assert conn.execute("SELECT flow_run_id FROM schedule_slots").fetchall() == [("planned",)]
