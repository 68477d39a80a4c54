"""A large result stays on the worker that made it, so a task run downstream reads it there."""

from __future__ import annotations

import os
from typing import Any

import cloudpickle

from orchestrate import flow, task
from orchestrate.core.records import TaskRunRecord
from orchestrate.integrations.dask import DaskTaskRunner
from orchestrate.integrations.dask.remote import Attempt, KeptValue, TaskCode, run_attempt
from orchestrate.states import Running
from tests.dask.conftest import needs_distributed
from tests.engine.conftest import MemorySink

needs_distributed()

#: Per worker process: id() of the last result `make` returned, to tell a copy from the original.
made: dict[int, int] = {}


@task
def make(size: int) -> bytearray:
    data = bytearray(size)
    made[os.getpid()] = id(data)
    return data


@task
def is_the_original(data: bytearray) -> bool:
    return made.get(os.getpid()) == id(data)


def chain_on(runner: Any) -> Any:
    @flow(task_runner=runner)
    def chain() -> tuple[bool, int]:
        data = make.submit(200_000)
        return is_the_original.submit(data).result(), len(data.result())

    return chain


def test_a_large_result_is_read_where_it_was_made_not_sent_again(
    recorded: MemorySink, dask_address: str
) -> None:
    assert chain_on(DaskTaskRunner(dask_address, keep_results_over=100_000))() == (True, 200_000)
    assert chain_on(DaskTaskRunner(dask_address, keep_results_over=None))() == (False, 200_000)
    assert chain_on(DaskTaskRunner(dask_address, keep_results_over=10_000_000))() == (
        False,
        200_000,
    )


def test_a_kept_input_that_is_not_on_the_worker_is_asked_for_again_without_running() -> None:
    calls: list[int] = []

    @task
    def body(data: bytes) -> int:
        calls.append(len(data))
        return len(data)

    run = TaskRunRecord("run-1", "flow-run-1", "body-0", "body", 0, Running(), 0.0)
    attempt = Attempt(
        "orc-body-run-1-1", TaskCode.of(body), run, {"data": KeptValue("orc-made-elsewhere-1")},
        log_prints=False, log_level=20, kept_inputs=True,
    )  # fmt: skip
    envelope = run_attempt(cloudpickle.dumps(attempt))
    assert envelope.missing and envelope.error is None
    assert calls == []
