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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestrate.config.loader import load_config
from orchestrate.core.runs import transition
from orchestrate.core.states import State, StateType
from orchestrate.daemon.automations import Automations
from orchestrate.daemon.deployments import DeploymentTable
from orchestrate.daemon.service import Daemon


class DroppingWriter:
    def put(self, record: Any) -> None:
        pass

    def when_stored(self, then: Callable[[], None], *, hurry: bool = False) -> None:
        then()  # nothing is kept: what was put is as stored as it will be


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
        _finish(daemon, daemon.create_manual("tiny", {}))


def _finish(daemon: Daemon, run: Any) -> None:
    """Move `run` through Pending and Running to Completed, then settle it, as its worker
    and the supervisor would."""
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
    daemon = _scheduled_daemon(tmp_path, clock)
    sizes = []
    for _day in range(5):
        for _hour in range(24):
            clock[0] += 3600
            daemon.plan()
            for run in [r for r in daemon.book.scheduled() if r.expected_start_time <= clock[0]]:
                _finish(daemon, run)
        sizes.append(len(daemon.slot_keys))
    assert sizes[-1] <= sizes[2] + 100, f"slot keys held at the end of each day: {sizes}"


def _scheduled_daemon(
    root: Path, clock: list[float], extra: str = "", publish: Any = None
) -> Daemon:
    """A daemon whose one deployment runs every minute, on a clock the test moves."""
    (root / "flows.py").write_text("def tiny() -> None:\n    pass\n")
    (root / "flows.toml").write_text(_every("60s", extra))
    (root / ".orc").mkdir()
    table = DeploymentTable(load_config(root / "flows.toml"), root / ".orc")
    return Daemon(
        root, table, DroppingWriter(), lambda on_records: None, clock=lambda: clock[0],
        publish=publish,
    )  # fmt: skip


def _every(interval: str, extra: str = "") -> str:
    return (
        '[project]\nname = "p"\n\n[[deployments]]\nname = "tiny"\nentrypoint = "flows.py:tiny"\n'
        f"schedules = [{{ interval = '{interval}' }}]\n{extra}"
    )


def _noted(daemon: Daemon) -> int:
    """What the daemon notes per run besides its book: the slot each came from."""
    return len(daemon.slot_of) + len(daemon.slot_detail)


async def test_skipped_slots_leave_nothing_behind(tmp_path: Path) -> None:
    """`collision_strategy = "skip"` with a run that holds the deployment's only slot for days:
    each minute's slot is skipped (1,440 a day), and each used to leave its slot noted."""
    clock = [1_800_000_000.0]
    extra = "concurrency_limit = 1\ncollision_strategy = 'skip'\n"
    daemon = _scheduled_daemon(tmp_path, clock, extra)
    holder = daemon.create_manual("tiny", {})
    for kind, name in ((StateType.PENDING, "Pending"), (StateType.RUNNING, "Running")):
        transition(holder, State(kind, name), daemon)
    daemon.handles[holder.id] = object()  # its worker runs on: every slot collides with it
    daemon.plan()
    noted = []
    for _day in range(3):
        for _minute in range(24 * 60):
            clock[0] += 60
            await daemon.tick()
        noted.append(_noted(daemon))
    assert daemon.skipped["tiny"] > 3 * 1_400
    assert noted[-1] <= noted[0] + 10, f"slots noted at the end of each day: {noted}"


def test_a_reload_that_withdraws_scheduled_runs_leaves_nothing_of_them(tmp_path: Path) -> None:
    """Each edit of a schedule withdraws the runs planned for its old slots."""
    clock = [1_800_000_000.0]
    daemon = _scheduled_daemon(tmp_path, clock)
    daemon.plan()
    noted = []
    for edit in range(40):
        (tmp_path / "flows.toml").write_text(_every("60s" if edit % 2 else "90s"))
        daemon.reload(load_config(tmp_path / "flows.toml"))
        noted.append(_noted(daemon))
    assert noted[-1] <= max(noted[:2]) + 10, f"runs noted after each reload: {noted}"


async def test_a_run_an_automation_ends_with_no_worker_on_it_is_settled(tmp_path: Path) -> None:
    """An automation's `change-flow-run-state` to a final state on a run no worker holds: no
    worker exit will settle it, so the action does. It used to stay noted for good, and a
    client following the run (`orc run --watch`) never heard it was settled."""
    pushes: list[dict[str, Any]] = []
    publish = lambda topic, data, **kw: pushes.append(data)  # noqa: E731
    daemon = _scheduled_daemon(tmp_path, [1_800_000_000.0], publish=publish)
    automations = Automations(daemon, [])
    daemon.plan()
    daemon.create_manual("tiny", {})
    runs = list(daemon.book.scheduled())  # the one asked for by hand and the planned ones
    for run in runs:
        await automations.set_flow_run_state(run.id, "Cancelled", "by an automation")
    settled = {push["id"] for push in pushes if push.get("settled")}
    assert settled == {run.id for run in runs}
    assert _noted(daemon) == 0
