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
from orchestrate.recording import get_sink, set_sink
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
