"""Shared test helpers: builders for the records the engine emits."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from orchestrate.core.records import FlowRunRecord, TaskRunRecord
from orchestrate.states import Completed, State


def _flow_run(run_id: str, state: State | None = None, **fields: Any) -> FlowRunRecord:
    now = time.time()
    defaults: dict[str, Any] = {
        "name": f"run-{run_id}", "flow_name": "etl", "parameters": {}, "created": now,
        "start_time": now, "end_time": now + 1.5, "run_count": 1,
    }  # fmt: skip
    return FlowRunRecord(id=run_id, state=state or Completed(), **{**defaults, **fields})


def _task_run(
    run_id: str, flow_run_id: str, state: State | None = None, **fields: Any
) -> TaskRunRecord:
    now = time.time()
    defaults: dict[str, Any] = {
        "name": f"task-{run_id}", "task_key": f"key-{run_id}", "dynamic_key": 0, "created": now,
        "start_time": now, "end_time": now + 0.25, "run_count": 1,
    }  # fmt: skip
    return TaskRunRecord(
        id=run_id, flow_run_id=flow_run_id, state=state or Completed(), **{**defaults, **fields}
    )


@pytest.fixture
def build() -> SimpleNamespace:
    """`build.flow_run(id, state, **fields)` and `build.task_run(id, flow_run_id, state, **fields)`."""
    return SimpleNamespace(flow_run=_flow_run, task_run=_task_run)


@pytest.fixture(scope="session", autouse=True)
def _no_cgroups_left_behind() -> Iterator[None]:
    """Daemons killed by tests leave their project's (empty) cgroup; remove those this session made."""
    import os

    from orchestrate.daemon.scope import _own_cgroup

    began = time.time()
    yield
    parent = _own_cgroup()
    if parent is None or not parent.is_dir():
        return
    for base in parent.glob("orc-*"):
        try:
            if os.stat(base).st_ctime < began:
                continue
            for group in base.glob("run-*"):
                group.rmdir()
            base.rmdir()
        except OSError:
            continue  # still in use, or not ours to remove


@pytest.fixture(autouse=True)
def _orc_logs_reach_caplog(monkeypatch: pytest.MonkeyPatch) -> None:
    """A flow run in this test process sets up orc's run logging, which stops the `orc`
    logger tree propagating to the root, where pytest's `caplog` listens: the tests that
    check what orc logged would then depend on which tests ran before them."""
    monkeypatch.setattr(logging.getLogger("orc"), "propagate", True)
