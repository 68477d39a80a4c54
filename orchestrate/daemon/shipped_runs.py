"""Flow runs shipped by a plain-Python process, ended Crashed when its connection ends first.

A flow run from `python my_flow.py` while the daemon is up ships its records
over one connection for the process's life. When that process is killed (or
calls `os._exit`) mid-run, no final state ever comes: the run would stay
Running in `orc status`, the TUI and the store until the next `orc up`. Its
connection ending is the only word the daemon gets, so that is when the run,
and its task runs still open, end Crashed, saying which process went away.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from orchestrate.core.records import FlowRunRecord, Record
from orchestrate.core.runs import transition
from orchestrate.core.states import Crashed
from orchestrate.daemon.leftovers import end_leftovers

if TYPE_CHECKING:
    from orchestrate.daemon.service import Daemon

log = logging.getLogger("orc.daemon")


class ShippedRuns:
    """The flow runs each connection has shipped and not yet finished."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self._open: dict[Any, set[str]] = {}  # connection -> flow run ids

    def note(self, connection: Any, records: list[Record]) -> None:
        """Follow the flow runs in `records`: open ones until their final state comes."""
        runs = [record for record in records if type(record) is FlowRunRecord]
        if not runs:
            return
        held = self._open.get(connection)
        if held is None:
            held = self._open[connection] = set()
            connection.on_close(self._closed)
        for run in runs:
            if run.state.is_final():
                held.discard(run.id)
            else:
                held.add(run.id)

    def _closed(self, connection: Any) -> None:
        for run_id in self._open.pop(connection, ()):
            run = self.daemon.book.get(run_id)
            if run is None or run.state.is_final():
                continue
            pid = getattr(connection, "peer_pid", None)
            crashed = Crashed(
                message=f"The process that ran this flow run (pid {pid}) ended before it "
                "finished: its connection to orc up closed without a final state."
            )
            task_runs = list(self.daemon.book.task_runs.get(run_id, {}).values())
            end_leftovers(task_runs, crashed, self.daemon)
            transition(run, crashed, self.daemon)
            self.daemon.remember(run)
            log.warning("flow run %s: %s", run_id[:8], crashed.message)


__all__ = ["ShippedRuns"]
