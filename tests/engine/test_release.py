"""What orc keeps of a finished task run while its flow runs on: nothing the caller has let go of.

A flow of 100,000 tasks must not hold 100,000 results, futures or records
once they are stored. These tests record into a real store (DuckDB in
`tmp_path`): the engine's test sink keeps every record, and so every result.
"""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from orchestrate import flow, task
from orchestrate.engine.context import flow_run_context
from orchestrate.engine.links import SWEEP_AT_LEAST, ResultLinks
from orchestrate.futures import as_completed, wait
from orchestrate.recording import get_sink, set_sink
from orchestrate.runtime import flow_run
from orchestrate.store.writer import StoreWriter


class Payload:
    """A result big enough to matter, and one a weak reference can watch."""

    def __init__(self, size: int = 1000) -> None:
        self.rows = list(range(size))


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("ORC_HOME", str(tmp_path))
    path = tmp_path / "orc.duckdb"
    writer = StoreWriter(path)
    previous = set_sink(writer)
    yield path
    set_sink(previous)
    writer.close()


def _stored(path: Path, sql: str) -> list[tuple[object, ...]]:
    """Rows of the store once everything given to the writer is written (and the file let go)."""
    get_sink().close()
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def flow_run_context_links() -> ResultLinks:
    """The result links of the flow run this is called in."""
    ctx = flow_run_context.get()
    assert ctx is not None
    return ctx.result_links


def _released(ref: weakref.ref[Payload]) -> bool:
    """Whether the object is gone once what the writer was given is stored."""
    assert get_sink().flush(30)
    gc.collect()
    return ref() is None


def test_a_result_the_caller_dropped_is_not_kept_by_the_flow_run(store: Path) -> None:
    @task
    def make() -> Payload:
        return Payload()

    @flow
    def pipeline() -> bool:
        ref = weakref.ref(make())
        return _released(ref)

    assert pipeline() is True


def test_a_submitted_result_is_released_with_its_future(store: Path) -> None:
    @task
    def make() -> Payload:
        return Payload()

    @flow
    def pipeline() -> tuple[bool, bool]:
        future = make.submit()
        ref = weakref.ref(future.result())
        kept = not _released(ref)  # the future the caller holds still gives its result
        del future
        return kept, _released(ref)

    assert pipeline() == (True, True)


def test_a_result_passed_on_is_still_linked_while_the_caller_holds_it(store: Path) -> None:
    @task
    def make() -> Payload:
        return Payload()

    @task
    def size(payload: Payload) -> int:
        return len(payload.rows)

    @flow
    def pipeline() -> int:
        payload = make()
        gc.collect()
        return size(payload)

    assert pipeline() == 1000
    edges = _stored(
        store,
        "SELECT up.name, down.name, e.kind FROM task_run_edges e "
        "JOIN task_runs up ON up.id = e.upstream_id JOIN task_runs down ON down.id = e.task_run_id",
    )
    assert edges == [("make-0", "size-0", "data")]


def test_task_runs_whose_futures_were_dropped_still_finish_before_the_flow_run(
    store: Path,
) -> None:
    release = threading.Event()

    @task
    def slow() -> str:
        assert release.wait(30)
        return "done"

    @task
    def let_go() -> None:
        release.set()

    @flow
    def pipeline() -> None:
        slow.submit()  # nobody keeps the future
        slow.submit()
        let_go.submit()

    pipeline()
    states = _stored(store, "SELECT name, state_name FROM task_runs ORDER BY name")
    assert states == [("let_go-0", "Completed"), ("slow-0", "Completed"), ("slow-1", "Completed")]


def test_a_held_future_of_a_finished_task_run_costs_few_collected_objects(store: Path) -> None:
    """Every full garbage collection walks them: 100,000 held futures must not make it slow."""

    @task
    def number(i: int) -> int:
        return i

    @flow
    def pipeline() -> float:
        futures = [number.submit(i) for i in range(1000)]
        assert [f.result() for f in futures] == list(range(1000))
        assert get_sink().flush(30)
        gc.collect()
        held = len(gc.get_objects())
        # What letting go of the futures frees is what holding them costs. (Counting from
        # before the submits would also count the pool's threads, which a loaded machine
        # starts more of, at about seventeen objects each.)
        count = len(futures)
        del futures
        gc.collect()
        return (held - len(gc.get_objects())) / count

    # The future, what it waits on, the task run's record and its final state (four), and
    # a little for the flow itself; with a concurrent.futures.Future it was fourteen.
    assert pipeline() <= 5


def test_waiting_on_futures_with_a_timeout_says_what_is_unfinished(store: Path) -> None:
    release = threading.Event()

    @task
    def held() -> str:
        assert release.wait(30)
        return "late"

    @task
    def quick() -> str:
        return "quick"

    @flow
    def pipeline() -> tuple[list[str], list[str], str, list[str]]:
        slow, fast = held.submit(), quick.submit()
        done, not_done = wait([slow, fast], timeout=0.2)
        seen = []
        try:
            for future in as_completed([slow, fast], timeout=0.2):
                seen.append(future.result())
        except TimeoutError as exc:
            message = str(exc)
        release.set()
        return [f.result() for f in done], [f.result() for f in not_done], message, seen

    assert pipeline() == (["quick"], ["late"], "1 (of 2) futures unfinished", ["quick"])


def test_once_stored_a_finished_task_runs_records_are_not_kept(store: Path) -> None:
    @task
    def number(i: int) -> int:
        return i

    @flow
    def pipeline() -> tuple[int, int]:
        for i in range(1000):
            number(i)
        assert get_sink().flush(30)
        gc.collect()
        mine = flow_run.id  # records other tests' sinks still hold are not this run's
        alive = [
            type(o).__name__
            for o in gc.get_objects()
            if type(o).__name__ in ("TaskRunRecord", "StateRecord")
            and mine in (getattr(o, "flow_run_id", None), getattr(o, "run_id", None))
        ]
        return alive.count("TaskRunRecord"), alive.count("StateRecord")

    assert pipeline() == (0, 0)


def test_numbers_and_strings_nobody_holds_are_let_go_while_the_flow_runs(store: Path) -> None:
    """Results a weak reference cannot watch are kept for their links, then swept.

    Without the sweep a flow of many tasks returning numbers kept every one of them
    (and its link) to the end.
    """
    many = 3 * SWEEP_AT_LEAST

    @task
    def number(i: int) -> int:
        return 1_000_000 + i

    @task
    def word(i: int) -> str:
        return f"word {i}"

    kept: list[int] = []

    @flow
    def pipeline() -> None:
        for i in range(many):
            number(i)
            word(i)
        assert get_sink().flush(30)
        gc.collect()  # a full collection sweeps too
        kept.append(len(flow_run_context_links()))

    pipeline()
    assert kept[0] < SWEEP_AT_LEAST, f"{kept[0]} links kept of {2 * many} results nobody holds"


def test_a_kept_number_still_links_its_task_run_after_sweeps(store: Path) -> None:
    @task
    def number(i: int) -> int:
        return 1_000_000 + i

    @task
    def pair(i: int) -> tuple[int, int]:
        return (i, i)

    @task
    def total(value: int, both: tuple[int, int]) -> int:
        return value + sum(both)

    @flow
    def pipeline() -> int:
        first = number(0)
        couple = pair(1)
        for i in range(1, 3 * SWEEP_AT_LEAST):
            number(i)
        assert get_sink().flush(30)
        gc.collect()
        return total(first, couple)

    assert pipeline() == 1_000_002
    edges = _stored(
        store,
        "SELECT up.name, down.name FROM task_run_edges e JOIN task_runs up ON up.id = e.upstream_id "
        "JOIN task_runs down ON down.id = e.task_run_id WHERE down.name LIKE 'total%' ORDER BY 1",
    )
    assert edges == [("number-0", "total-0"), ("pair-0", "total-0")]


def test_sweeping_from_another_thread_while_links_are_added_loses_no_held_link() -> None:
    """A full collection may start in any thread, inside `add` too: held links all survive."""
    links = ResultLinks()
    held = [10_000 + i for i in range(20_000)]
    stop = threading.Event()
    errors: list[BaseException] = []

    def sweep_all_the_time() -> None:
        try:
            while not stop.is_set():
                links.sweep()
        except BaseException as exc:  # pragma: no cover - the failure this test looks for
            errors.append(exc)

    sweeper = threading.Thread(target=sweep_all_the_time)
    sweeper.start()
    try:
        for i, value in enumerate(held):
            links.add(f"run-{i}", value)
            links.add(f"gone-{i}", float(i))  # nobody holds these
    finally:
        stop.set()
        sweeper.join(30)
    assert not errors
    assert all(links.run_of(value) == f"run-{i}" for i, value in enumerate(held))
    links.sweep()
    assert len(links) == len(held)
