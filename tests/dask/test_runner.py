"""Task runs on a real Dask cluster behave as on threads: results, states, edges, retries, logs."""

from __future__ import annotations

import asyncio
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import pytest

import orchestrate
from orchestrate import emit_event, flow, get_run_logger, task, unmapped
from orchestrate.core.errors import UpstreamTaskError
from orchestrate.core.records import EdgeRecord, StateRecord
from orchestrate.integrations.dask import DaskTaskRunner
from orchestrate.runtime import task_run
from orchestrate.task_runners import ThreadPoolTaskRunner
from orchestrate.worker.entrypoints import load_flow
from tests.dask.conftest import needs_distributed
from tests.engine.conftest import MemorySink

needs_distributed()


@task
def double(x: int) -> int:
    return 2 * x


@task
def add(x: int, y: int) -> int:
    return x + y


@task
def boom() -> None:
    raise RuntimeError("upstream broke")


def pipeline_on(runner: Any) -> Any:
    @flow(task_runner=runner)
    def pipeline(n: int = 200) -> tuple[list[int], int, int]:
        doubled = double.map(range(n))
        plus_one = add.map(doubled, unmapped(1))
        chain = add.submit(0, 1)
        for i in range(10):
            chain = add.submit(chain, i)
        gated = add.submit(1, 1, wait_for=[chain])
        skipped = add.submit(boom.submit(), 1)
        skipped.wait()
        return plus_one.result(), chain.result(), gated.result()

    return pipeline


def run_graph(sink: MemorySink, flow_run_id: str) -> dict[str, Any]:
    """What a user sees of one flow run: each task run's state history, and the edges."""
    runs = {r.id: r for r in sink.task_runs(flow_run_id)}
    histories = {
        runs[r.run_id].name: []
        for r in sink.records
        if isinstance(r, StateRecord) and r.run_id in runs
    }
    for record in sink.records:
        if isinstance(record, StateRecord) and record.run_id in runs:
            histories[runs[record.run_id].name].append(record.state.name)
    edges = {
        (runs[e.upstream_id].name, runs[e.task_run_id].name, e.kind)
        for e in sink.records
        if isinstance(e, EdgeRecord) and e.flow_run_id == flow_run_id
    }
    return {"histories": histories, "edges": edges}


def test_a_map_and_a_chain_give_the_same_results_states_and_edges_as_threads(
    recorded: MemorySink, dask_address: str
) -> None:
    on_threads = pipeline_on(ThreadPoolTaskRunner())()
    on_dask = pipeline_on(DaskTaskRunner(dask_address))()

    assert on_dask == on_threads
    assert on_dask[0] == [2 * i + 1 for i in range(200)]
    threads_run, dask_run = recorded.flow_runs()
    on_threads_graph = run_graph(recorded, threads_run.id)
    on_dask_graph = run_graph(recorded, dask_run.id)
    assert on_dask_graph == on_threads_graph
    assert len(on_dask_graph["histories"]) == 200 + 200 + 11 + 1 + 2
    assert on_dask_graph["histories"]["add-0"] == ["Pending", "Running", "Completed"]
    assert on_dask_graph["histories"]["add-212"] == ["Pending", "NotReady"]
    assert ("add-210", "add-211", "wait_for") in on_dask_graph["edges"]


def test_a_task_that_fails_twice_then_succeeds_is_retried_after_its_delay(
    recorded: MemorySink, dask_address: str
) -> None:
    @task(retries=2, retry_delay_seconds=0.2)
    def flaky() -> str:
        if task_run.run_count < 3:
            raise ConnectionError(f"attempt {task_run.run_count} failed")
        return f"ok on attempt {task_run.run_count}"

    @flow(task_runner=DaskTaskRunner(dask_address))
    def pipeline() -> str:
        return flaky.submit().result()

    assert pipeline() == "ok on attempt 3"
    run = recorded.task_run("flaky-0")
    assert recorded.history(run.id) == [
        "Pending", "Running", "AwaitingRetry", "Retrying", "AwaitingRetry", "Retrying", "Completed",
    ]  # fmt: skip
    assert run.run_count == 3
    states = [
        r.state for r in recorded.records if isinstance(r, StateRecord) and r.run_id == run.id
    ]
    assert states[3].ts - states[2].ts >= 0.2  # the delay was kept before the retry
    warnings = [r.message for r in recorded.logs() if r.task_run_id == run.id and r.level == 30]
    assert any("ConnectionError: attempt 1 failed" in w and "Retry 1/2" in w for w in warnings)


def test_logs_prints_and_events_of_remote_tasks_reach_the_run(
    recorded: MemorySink, dask_address: str
) -> None:
    @task(log_prints=True)
    def chatty(item: int) -> int:
        get_run_logger().info("handling item %d", item)
        print(f"printed {item}")
        emit_event("shop.item.handled", resource={"orc.resource.id": f"shop.item.{item}"})
        return item

    @flow(task_runner=DaskTaskRunner(dask_address))
    def pipeline() -> list[int]:
        return chatty.map([1, 2]).result()

    assert pipeline() == [1, 2]
    flow_run = recorded.flow_runs()[0]
    for item in (1, 2):
        run = next(r for r in recorded.task_runs() if r.name == f"chatty-{item - 1}")
        lines = {r.message for r in recorded.logs() if r.task_run_id == run.id}
        assert {f"handling item {item}", f"printed {item}"} <= lines
        assert all(r.flow_run_id == flow_run.id for r in recorded.logs() if r.task_run_id == run.id)
    events = [e for e in recorded.events() if e.event == "shop.item.handled"]
    assert len(events) == 2
    related = {r["orc.resource.id"] for e in events for r in e.related}
    assert f"orc.flow-run.{flow_run.id}" in related


def test_a_remote_failure_keeps_its_exception_and_traceback(
    recorded: MemorySink, dask_address: str
) -> None:
    @task
    def parse(row: str) -> int:
        return int(row)

    @flow(task_runner=DaskTaskRunner(dask_address))
    def pipeline() -> int:
        return parse.submit("not a number").result()

    with pytest.raises(ValueError, match="invalid literal"):
        pipeline()
    run = recorded.task_run("parse-0")
    assert run.state.name == "Failed"
    error_lines = [r.message for r in recorded.logs() if r.task_run_id == run.id and r.level == 40]
    line = Path(__file__).read_text().splitlines().index("        return int(row)") + 1
    assert any(
        f'File "{__file__}", line {line}, in parse\n    return int(row)' in text
        for text in error_lines
    )


def test_a_remote_failure_raised_in_the_flow_shows_no_orc_frame_from_the_worker(
    recorded: MemorySink, dask_address: str
) -> None:
    # orc's frames on the worker are cut before the error travels: after the flow's own frames
    # come only its `.result()` calls, then the task's code.
    @task
    def parse(row: str) -> int:
        return int(row)

    @flow(task_runner=DaskTaskRunner(dask_address))
    def pipeline() -> int:
        return parse.submit("not a number").result()

    with pytest.raises(ValueError, match="invalid literal") as raised:
        pipeline()
    frames = traceback.extract_tb(raised.value.__traceback__)
    names = [frame.name for frame in frames]
    from_worker = frames[names.index("pipeline") + 1 :]
    orc_dir = str(Path(orchestrate.__file__).parent)
    orc_frames = [
        (Path(f.filename).name, f.name) for f in from_worker if f.filename.startswith(orc_dir)
    ]
    assert orc_frames == [("futures.py", "result"), ("states.py", "sync_result")]
    assert from_worker[-1].name == "parse"


FLOW_FILE = """
from orchestrate import flow, task
from orchestrate.task_runners import ThreadPoolTaskRunner


def to_numbers(rows):
    return [int(row) for row in rows]


@task
def parse(rows: list[str]) -> list[int]:
    return to_numbers(rows)


@flow(task_runner=ThreadPoolTaskRunner())
def pipeline() -> list[int]:
    return parse.submit(["1", "two"]).result()
"""


def test_a_remote_failure_in_a_flow_file_names_each_file_line_of_its_traceback(
    recorded: MemorySink, dask_address: str, tmp_path: Path
) -> None:
    # not a stdlib name: the folder stays on sys.path, which workers the nanny restarts inherit
    flow_file = tmp_path / "parse_rows.py"
    flow_file.write_text(FLOW_FILE)
    pipeline = load_flow("parse_rows.py:pipeline", root=tmp_path)
    on_cluster = pipeline.with_options(task_runner=DaskTaskRunner(dask_address))

    with pytest.raises(ValueError, match="invalid literal"):
        on_cluster()
    run = recorded.task_run("parse-0")
    [text] = [r.message for r in recorded.logs() if r.task_run_id == run.id and r.level == 40]
    frames = [
        f'File "{flow_file}", line 12, in parse\n    return to_numbers(rows)',
        f'File "{flow_file}", line 7, in to_numbers\n    return [int(row) for row in rows]',
        f'File "{flow_file}", line 7, in <listcomp>\n    return [int(row) for row in rows]',
    ]
    assert all(frame in text for frame in frames), text


def test_an_upstream_failure_is_not_retried_downstream(
    recorded: MemorySink, dask_address: str
) -> None:
    @flow(task_runner=DaskTaskRunner(dask_address))
    def pipeline() -> None:
        add.submit(boom.submit(), 1).wait()

    pipeline()
    downstream = recorded.task_run("add-0")
    assert recorded.history(downstream.id) == ["Pending", "NotReady"]
    assert isinstance(downstream.state.data, UpstreamTaskError)


def test_a_body_past_its_timeout_ends_timed_out(recorded: MemorySink, dask_address: str) -> None:
    @task(timeout_seconds=0.3)
    def slow() -> None:
        for _ in range(200):
            time.sleep(0.02)

    @flow(task_runner=DaskTaskRunner(dask_address))
    def pipeline() -> tuple[str, str]:
        state = slow.submit(return_state=True)
        return state.name, state.message

    started = time.monotonic()
    name, message = pipeline()
    assert name == "TimedOut"
    assert message == "Task run exceeded timeout of 0.3 second(s)"
    assert time.monotonic() - started < 3


def test_cached_results_are_reused_without_running_on_the_cluster(
    recorded: MemorySink, dask_address: str, tmp_path: Path
) -> None:
    calls = tmp_path / "calls"
    calls.mkdir()

    @task(cache_key_fn=lambda context, arguments: f"report-{arguments['day']}")
    def report(day: str, folder: str) -> str:
        (Path(folder) / f"{time.time_ns()}").touch()
        return f"report for {day}"

    @flow(task_runner=DaskTaskRunner(dask_address))
    def pipeline() -> str:
        return report.submit("monday", str(calls)).result()

    assert pipeline() == pipeline() == "report for monday"
    states = [r.state.name for r in recorded.task_runs()]
    assert states == ["Completed", "Cached"]
    assert len(list(calls.iterdir())) == 1


def test_async_tasks_run_on_workers(recorded: MemorySink, dask_address: str) -> None:
    @task
    async def fetch(n: int) -> int:
        await asyncio.sleep(0.01)
        return n * 10

    @flow(task_runner=DaskTaskRunner(dask_address))
    def pipeline() -> list[int]:
        return fetch.map([1, 2, 3]).result()

    assert pipeline() == [10, 20, 30]


def test_arguments_that_cannot_travel_fail_the_task_run_saying_so(
    recorded: MemorySink, dask_address: str
) -> None:
    @task
    def use(lock: Any) -> None:
        pass

    @flow(task_runner=DaskTaskRunner(dask_address))
    def pipeline() -> tuple[str, str]:
        state = use.submit(threading.Lock(), return_state=True)
        return state.name, state.message

    name, message = pipeline()
    assert name == "Failed"
    assert "could not be sent to the Dask cluster" in message
    assert "pickle" in message


def test_results_that_cannot_travel_back_fail_the_task_run_saying_so(
    recorded: MemorySink, dask_address: str
) -> None:
    @task
    def make_lock() -> Any:
        return threading.Lock()

    @flow(task_runner=DaskTaskRunner(dask_address))
    def pipeline() -> tuple[str, str]:
        state = make_lock.submit(return_state=True)
        return state.name, state.message

    name, message = pipeline()
    assert name == "Failed"
    assert "could not be sent back from the Dask worker" in message


def test_an_async_body_past_its_timeout_raises_prefects_timeout_error(
    recorded: MemorySink, dask_address: str
) -> None:
    @task(timeout_seconds=0.3)
    async def slow() -> None:
        await asyncio.sleep(30)

    @task(timeout_seconds=30)
    async def own_timeout() -> None:
        raise TimeoutError("the API did not answer")

    @flow(task_runner=DaskTaskRunner(dask_address))
    def pipeline() -> list[tuple[str, str, str]]:
        states = [slow.submit(return_state=True), own_timeout.submit(return_state=True)]
        errors = [s.result(raise_on_failure=False) for s in states]
        return [(s.name, type(e).__name__, str(e)) for s, e in zip(states, errors, strict=True)]

    timed_out, failed = pipeline()
    assert timed_out == ("TimedOut", "TaskRunTimeoutError", "Scope timed out after 0.3 second(s).")
    # as in Prefect any TimeoutError ends the run TimedOut, but the body's own keeps its type
    assert failed == ("TimedOut", "TimeoutError", "the API did not answer")


def test_a_submitted_generator_task_results_in_the_list_of_its_items(
    recorded: MemorySink, dask_address: str
) -> None:
    @task
    def numbers(n: int):  # type: ignore[no-untyped-def]
        for i in range(n):
            yield (i, task_run.name)

    @task
    async def repeat(x: int):  # type: ignore[no-untyped-def]
        for _ in range(x):
            await asyncio.sleep(0)
            yield x

    @flow(task_runner=DaskTaskRunner(dask_address))
    def pipeline() -> tuple[list[tuple[int, str]], list[list[int]]]:
        return numbers.submit(2).result(), repeat.map([1, 2]).result()

    # as on threads (Prefect: a generator is not portable, so it is listed where it ran)
    assert pipeline() == ([(0, "numbers-0"), (1, "numbers-0")], [[1], [2, 2]])
    assert {r.state.name for r in recorded.task_runs()} == {"Completed"}


CLASS_FLOW_FILE = """
from dataclasses import dataclass

from orchestrate import flow, task


@dataclass
class Point:
    x: int
    y: int


@task
def shift(points: list[Point], by: int) -> list[Point]:
    return [Point(p.x + by, p.y) for p in points]


@flow
def moved() -> list[tuple[int, int]]:
    return [(p.x, p.y) for p in shift.submit([Point(1, 2)], 10).result()]
"""


def test_arguments_of_a_class_from_the_flow_file_reach_workers_that_cannot_import_it(
    recorded: MemorySink, dask_address: str, tmp_path: Path
) -> None:
    """Plain arguments take the fast pickle; these must still travel by value."""
    (tmp_path / "points_flow.py").write_text(CLASS_FLOW_FILE)
    moved = load_flow("points_flow.py:moved", root=tmp_path)

    assert moved.with_options(task_runner=DaskTaskRunner(dask_address))() == [(11, 2)]
