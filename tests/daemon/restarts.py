"""Lives of a real `Daemon` over a real store, with a clock the test sets: start, plan, stop.

No worker is ever started, so what a test sees is exactly what recovery,
catch-up and planning decided: the runs the daemon holds after each start,
and the rows the store keeps once it stops.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrate.config.loader import load_config
from orchestrate.core.records import FlowRunRecord
from orchestrate.daemon.deployments import DeploymentTable
from orchestrate.daemon.recovery import recover
from orchestrate.daemon.service import Daemon
from orchestrate.store import connection, migrations
from orchestrate.store.queries import Store
from orchestrate.store.writer import StoreWriter

FLOWS = "def slow(x: int = 0) -> None:\n    pass\n"


def at(text: str) -> float:
    """An ISO time in UTC as epoch seconds."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@dataclass
class Clock:
    now: float

    def __call__(self) -> float:
        return self.now


class Project:
    """One project folder whose daemon is started and stopped in this process."""

    def __init__(self, root: Path, config: str) -> None:
        self.root = root
        (root / ".orc").mkdir(exist_ok=True)
        (root / "flows.py").write_text(FLOWS)
        self.configure(config)

    def configure(self, config: str) -> None:
        (self.root / "flows.toml").write_text(textwrap.dedent(config))

    @contextmanager
    def life(self, now: float) -> Iterator[Daemon]:
        """`orc up` at `now`: recover and plan; everything it put is stored when it ends."""
        path = self.root / ".orc" / "orc.duckdb"
        conn = connection.connect(path, read_only=False)
        migrations.migrate(conn, path)
        writer = StoreWriter(path, connection=conn)
        table = DeploymentTable(load_config(self.root / "flows.toml"), self.root / ".orc")
        daemon = Daemon(self.root, table, writer, lambda on_records: None, clock=Clock(now))
        try:
            cursor = conn.cursor()
            recover(daemon, Store.over(cursor), cursor)
            daemon.plan()
            yield daemon
        finally:
            writer.close()
            conn.close()

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of the stored file, read with no daemon up."""
        with connection.connect(self.root / ".orc" / "orc.duckdb") as conn:
            return conn.execute(sql).fetchall()


def waiting(daemon: Daemon, deployment: str = "slow") -> list[FlowRunRecord]:
    """The runs of `deployment` that wait to start, by due time."""
    runs = [r for r in daemon.book.scheduled() if r.deployment == deployment]
    return sorted(runs, key=lambda r: (r.expected_start_time or 0.0, r.id))


def cancelled(project: Project) -> list[tuple[str, str]]:
    """(run id, message) of every stored run that ended Cancelled."""
    rows = project.rows("SELECT id, state_message FROM flow_runs WHERE state_name = 'Cancelled'")
    return [(str(run_id), str(message)) for run_id, message in rows]
