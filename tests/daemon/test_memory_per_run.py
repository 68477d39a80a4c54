"""What the daemon keeps of a finished run: nothing that grows with the runs it has seen.

A real `Daemon` and deployment table with no worker started: each run is moved
through its states by hand, as a worker would report them, then settled as the
supervisor does after the worker's exit. The writer drops what it is given
(the store is not what is tested here). Memory is counted with tracemalloc once
the daemon's bounded cache of recent runs (`Daemon.remember`, 1,000) is full,
so what is left is what would grow for good over a long soak.
"""

from __future__ import annotations

import gc
import tracemalloc
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


def _daemon(root: Path) -> Daemon:
    (root / "flows.py").write_text("def tiny() -> None:\n    pass\n")
    (root / "flows.toml").write_text(
        '[project]\nname = "p"\n\n[[deployments]]\nname = "tiny"\nentrypoint = "flows.py:tiny"\n'
    )
    (root / ".orc").mkdir()
    table = DeploymentTable(load_config(root / "flows.toml"), root / ".orc")
    return Daemon(root, table, DroppingWriter(), lambda on_records: None)


def _finish_runs(daemon: Daemon, count: int) -> None:
    """`count` runs asked for by hand, each Completed and settled as after its worker's exit."""
    for _ in range(count):
        run = daemon.create_manual("tiny", {})
        for kind, name in ((StateType.PENDING, "Pending"), (StateType.RUNNING, "Running")):
            transition(run, State(kind, name), daemon)
        transition(run, State(StateType.COMPLETED, "Completed"), daemon)
        daemon.settled(run)


def _traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def test_a_finished_run_leaves_nothing_behind_once_the_recent_cache_is_full(
    tmp_path: Path,
) -> None:
    daemon = _daemon(tmp_path)
    tracemalloc.start()  # before the first run, so what a later run replaces is counted as freed
    try:
        _finish_runs(daemon, 1_500)  # the recent-runs cache is full from here on
        before = _traced()
        _finish_runs(daemon, 2_000)
        held_per_run = (_traced() - before) / 2_000
    finally:
        tracemalloc.stop()
    assert held_per_run < 20, f"{held_per_run:.0f} bytes held per finished run"


def test_slot_keys_of_a_schedule_do_not_pile_up_over_days(tmp_path: Path) -> None:
    """A daemon up for months with a schedule every minute claims 1,440 slots a day. Their
    keys are what stops a slot being planned twice; one older than the daemon's key memory
    (two days, as a restart loads them) is never looked at again, so it is let go."""
    clock = [1_800_000_000.0]
    (tmp_path / "flows.py").write_text("def tiny() -> None:\n    pass\n")
    (tmp_path / "flows.toml").write_text(
        '[project]\nname = "p"\n\n[[deployments]]\nname = "tiny"\nentrypoint = "flows.py:tiny"\n'
        "schedules = [{ interval = '60s' }]\n"
    )
    (tmp_path / ".orc").mkdir()
    table = DeploymentTable(load_config(tmp_path / "flows.toml"), tmp_path / ".orc")
    daemon = Daemon(
        tmp_path, table, DroppingWriter(), lambda on_records: None, clock=lambda: clock[0]
    )
    sizes = []
    for _day in range(5):
        for _hour in range(24):
            clock[0] += 3600
            daemon.plan()
            for run in [
                r for r in daemon.book.scheduled() if (r.expected_start_time or 0) <= clock[0]
            ]:
                for kind, name in ((StateType.PENDING, "Pending"), (StateType.RUNNING, "Running")):
                    transition(run, State(kind, name), daemon)
                transition(run, State(StateType.COMPLETED, "Completed"), daemon)
                daemon.settled(run)
        sizes.append(len(daemon.slot_keys))
    assert sizes[-1] <= sizes[2] + 100, f"slot keys held at the end of each day: {sizes}"
