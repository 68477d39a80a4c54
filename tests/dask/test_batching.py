"""What a flow run on Dask costs the flow process: a `.map()` leaves as one graph, attempts the
flow does not wait on still leave, and a settled run's result lives only as long as its future."""

from __future__ import annotations

import gc
import uuid
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from orchestrate import flow, task
from orchestrate.integrations.dask import DaskTaskRunner, attempts
from orchestrate.recording import get_sink, set_sink
from orchestrate.store.writer import StoreWriter
from tests.dask.conftest import needs_distributed
from tests.engine.conftest import MemorySink

needs_distributed()

import dask  # noqa: E402
from distributed import Client, Event  # noqa: E402
from distributed.diagnostics.plugin import SchedulerPlugin  # noqa: E402


class GraphsSeen(SchedulerPlugin):
    """Runs on the scheduler (a LocalCluster's is in this process): the keys of each graph sent."""

    name = "orc-test-graphs-seen"

    def __init__(self) -> None:
        self.graphs: list[list[str]] = []
        self.priorities: dict[str, Any] = {}

    def update_graph(
        self, scheduler: Any, *, tasks: list[Any], annotations: dict[str, Any], **kwargs: Any
    ) -> None:
        self.graphs.append([str(key) for key in tasks])
        self.priorities.update(annotations.get("priority", {}))

    def ours(self, prefix: str) -> list[list[str]]:
        return [keys for keys in self.graphs if any(k.startswith(prefix) for k in keys)]


@pytest.fixture
def graphs_seen(dask_cluster: Any) -> Iterator[GraphsSeen]:
    with Client(dask_cluster.scheduler_address, set_as_default=False) as client:
        client.register_plugin(GraphsSeen())
        try:
            yield dask_cluster.scheduler.plugins[GraphsSeen.name]
        finally:
            client.unregister_scheduler_plugin(GraphsSeen.name)


@task
def triple(x: int) -> int:
    return 3 * x


def test_a_map_the_flow_waits_on_leaves_as_one_graph(
    recorded: MemorySink,
    dask_address: str,
    graphs_seen: GraphsSeen,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(attempts, "QUIET", 60.0)  # only waiting on a run sends them here
    monkeypatch.setattr(attempts, "HOLD_AT_MOST", 60.0)

    @flow(task_runner=DaskTaskRunner(dask_address))
    def tripled() -> list[int]:
        return triple.map(range(300)).result()

    assert tripled() == [3 * i for i in range(300)]
    assert [len(keys) for keys in graphs_seen.ours("orc-triple-")] == [300]
    assert len(recorded.task_runs()) == 300


def test_a_map_leaves_at_once_as_one_graph_though_the_flow_waits_on_none_of_it(
    recorded: MemorySink,
    dask_address: str,
    graphs_seen: GraphsSeen,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(attempts, "QUIET", 60.0)  # no timer sends them within the test
    monkeypatch.setattr(attempts, "HOLD_AT_MOST", 60.0)
    name = f"orc-test-{uuid.uuid4()}"

    @flow(task_runner=DaskTaskRunner(dask_address))
    def fired() -> bool:
        set_event.map([name] * 200)  # none of its futures is waited on
        with Client(dask_address, set_as_default=False) as client:
            return bool(Event(name, client=client).wait(timeout=30))

    assert fired() is True
    assert [len(keys) for keys in graphs_seen.ours("orc-set_event-")] == [200]
    assert len(recorded.task_runs()) == 200


def test_a_large_map_leaves_in_graphs_while_the_rest_is_packed(
    recorded: MemorySink,
    dask_address: str,
    graphs_seen: GraphsSeen,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(attempts, "QUIET", 60.0)
    monkeypatch.setattr(attempts, "HOLD_AT_MOST", 60.0)
    monkeypatch.setattr(attempts, "MAP_GRAPH", 100)

    @flow(task_runner=DaskTaskRunner(dask_address))
    def tripled() -> list[int]:
        return triple.map(range(250)).result()

    assert tripled() == [3 * i for i in range(250)]
    assert [len(keys) for keys in graphs_seen.ours("orc-triple-")] == [100, 100, 50]


def test_an_annotated_map_leaves_as_one_graph_with_its_annotation(
    recorded: MemorySink,
    dask_address: str,
    graphs_seen: GraphsSeen,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(attempts, "QUIET", 60.0)
    monkeypatch.setattr(attempts, "HOLD_AT_MOST", 60.0)

    @flow(task_runner=DaskTaskRunner(dask_address))
    def tripled() -> list[int]:
        with dask.annotate(priority=7):
            futures = triple.map(range(40))
        return futures.result()

    assert tripled() == [3 * i for i in range(40)]
    [keys] = graphs_seen.ours("orc-triple-")
    assert len(keys) == 40
    assert {graphs_seen.priorities[key] for key in keys} == {7}


@task
def set_event(name: str) -> None:
    Event(name).set()


def test_a_run_the_flow_does_not_wait_on_is_sent_all_the_same(
    recorded: MemorySink, dask_address: str
) -> None:
    name = f"orc-test-{uuid.uuid4()}"

    @flow(task_runner=DaskTaskRunner(dask_address))
    def fire_and_watch() -> bool:
        set_event.submit(name)  # its future is never waited on
        with Client(dask_address, set_as_default=False) as client:
            return bool(Event(name, client=client).wait(timeout=30))

    assert fire_and_watch() is True


class Payload:
    """A result a weak reference can watch."""

    def __init__(self, size: int = 1000) -> None:
        self.rows = list(range(size))


@task
def make(i: int) -> Payload:
    return Payload()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A real store: the test sink would keep every record, and so every result."""
    monkeypatch.setenv("ORC_HOME", str(tmp_path))
    monkeypatch.setenv("ORC_LOGGING_TO_CONSOLE", "0")
    writer = StoreWriter(tmp_path / "orc.duckdb")
    previous = set_sink(writer)
    yield tmp_path
    set_sink(previous)
    writer.close()


def test_a_settled_result_is_released_with_its_future(store: Path, dask_address: str) -> None:
    @flow(task_runner=DaskTaskRunner(dask_address))
    def pipeline() -> tuple[int, int]:
        futures = make.map(range(20))
        refs = [weakref.ref(future.result()) for future in futures]
        assert get_sink().flush(30)
        gc.collect()
        held = sum(ref() is not None for ref in refs)
        del futures
        gc.collect()
        return held, sum(ref() is not None for ref in refs)

    assert pipeline() == (20, 0)


def test_every_task_run_of_maps_is_stored_with_all_its_states_and_edges(
    store: Path, dask_address: str
) -> None:
    @flow(task_runner=DaskTaskRunner(dask_address))
    def pipeline() -> list[int]:
        firsts = triple.map(range(200))
        return triple.map(firsts).result()  # each waits on its upstream: an edge per run

    assert pipeline() == [9 * i for i in range(200)]
    get_sink().close()  # everything it was given is written, and the file let go
    with duckdb.connect(str(store / "orc.duckdb"), read_only=True) as conn:
        runs = conn.execute("SELECT state_type, count(*) FROM task_runs GROUP BY 1").fetchall()
        states = conn.execute(
            "SELECT state_type, count(DISTINCT run_id), count(*) FROM state_history "
            "WHERE is_task GROUP BY 1 ORDER BY 1"
        ).fetchall()
        edges = conn.execute("SELECT kind, count(*) FROM task_run_edges GROUP BY 1").fetchall()
    assert runs == [("COMPLETED", 400)]
    assert states == [("COMPLETED", 400, 400), ("PENDING", 400, 400), ("RUNNING", 400, 400)]
    assert edges == [("data", 200)]
