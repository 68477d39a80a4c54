"""Submitted and mapped task runs, futures, upstream failures, and the edges of the run graph."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from orchestrate import allow_failure, flow, task, unmapped
from orchestrate.core.errors import UnfinishedRun, UpstreamTaskError
from orchestrate.futures import as_completed, wait


@task
def a() -> list[int]:
    return [1, 2, 3]


@task
def b(x, y=0):  # type: ignore[no-untyped-def]
    return (sum(x) if isinstance(x, list) else x) + y


@task
def add(x: int, y: int) -> int:
    return x + y


@task
def boom() -> None:
    raise RuntimeError("upstream broke")


def test_future_passed_to_submit_resolves_and_records_a_data_edge(recorded) -> None:
    @flow
    def pipeline() -> int:
        return b.submit(a.submit()).result()

    assert pipeline() == 6
    assert recorded.edges() == {("a-0", "b-0", "data")}


def test_wait_for_orders_runs_and_records_a_wait_for_edge(recorded) -> None:
    order: list[str] = []
    gate = threading.Event()

    @task
    def first() -> None:
        gate.wait(5)
        order.append("first")

    @task
    def second() -> None:
        order.append("second")

    @flow
    def pipeline() -> None:
        f = first.submit()
        s = second.submit(wait_for=[f])
        gate.set()
        s.wait()

    pipeline()
    assert order == ["first", "second"]
    assert recorded.edges() == {("first-0", "second-0", "wait_for")}


def test_a_result_passed_on_is_linked_back_to_its_task_run(recorded) -> None:
    @flow
    def pipeline() -> int:
        rows = a()  # a plain value, traced by identity like Prefect
        return b(rows)

    assert pipeline() == 6
    assert recorded.edges() == {("a-0", "b-0", "data")}


def test_a_state_passed_in_records_an_edge_and_resolves(recorded) -> None:
    @flow
    def pipeline() -> int:
        state = a(return_state=True)
        return b(state)

    assert pipeline() == 6
    assert ("a-0", "b-0", "data") in recorded.edges()


def test_small_ints_and_none_are_not_linked_by_identity(recorded) -> None:
    @task
    def one() -> int:
        return 1

    @flow
    def pipeline() -> int:
        one()
        return add(1, 1)  # the literal 1, not one()'s result

    pipeline()
    assert recorded.edges() == set()


@pytest.mark.parametrize(
    ("value", "linked"),
    [(-6, True), (-5, False), (256, False), (257, True), (1.5, True), (True, False), (None, False)],
)
def test_a_result_is_linked_alike_passed_alone_or_inside_a_list(
    recorded: Any, value: Any, linked: bool
) -> None:
    # Plain arguments skip the walk and repeat `is_linkable`'s rule inline (a call per argument
    # costs ~80 ns of a task run): both ways must find the same upstreams.
    @task
    def give() -> Any:
        return value

    @task
    def take(x: Any) -> None:
        pass

    @flow
    def pipeline() -> None:
        result = give()
        take(result)  # a plain argument
        take([result])  # inside a list: the walk

    pipeline()
    both = {("give-0", "take-0", "data"), ("give-0", "take-1", "data")}
    assert recorded.edges() == (both if linked else set())


def test_futures_inside_collections_resolve_and_each_records_an_edge(recorded) -> None:
    @task
    def total(parts: dict) -> int:  # type: ignore[type-arg]
        return sum(parts["values"])

    @flow
    def pipeline() -> int:
        futures = [add.submit(i, 10) for i in range(3)]
        return total({"values": futures})

    assert pipeline() == 33
    assert recorded.edges() == {(f"add-{i}", "total-0", "data") for i in range(3)}


def test_map_with_unmapped_submits_one_run_per_item(recorded) -> None:
    @flow
    def pipeline() -> list[int]:
        return add.map([1, 2, 3], unmapped(10)).result()

    assert pipeline() == [11, 12, 13]
    assert sorted(r.name for r in recorded.task_runs()) == ["add-0", "add-1", "add-2"]
    assert all(r.state.is_completed() for r in recorded.task_runs())


def test_map_over_futures_keeps_an_edge_per_item(recorded) -> None:
    @flow
    def pipeline() -> list[int]:
        firsts = add.map([1, 2], unmapped(1))
        return add.map(firsts, unmapped(100)).result()

    assert pipeline() == [102, 103]
    assert recorded.edges() == {("add-0", "add-2", "data"), ("add-1", "add-3", "data")}


def test_a_future_of_one_value_passed_to_map_is_an_edge_to_every_mapped_run(recorded) -> None:
    @flow
    def pipeline() -> list[int]:
        base = add.submit(1, 1)
        return add.map([1, 2], base).result()

    assert pipeline() == [3, 4]
    assert recorded.edges() == {("add-0", "add-1", "data"), ("add-0", "add-2", "data")}


def test_map_with_uneven_iterables_says_which(recorded) -> None:
    @flow
    def pipeline() -> None:
        add.map([1, 2], [1, 2, 3])

    with pytest.raises(ValueError, match="different lengths: x=2, y=3"):
        pipeline()


def test_an_upstream_failure_leaves_the_downstream_not_ready_as_prefect_does(recorded) -> None:
    hooks = []

    @task(on_failure=[lambda *args: hooks.append(args)])
    def downstream_task(x):  # type: ignore[no-untyped-def]
        return x

    @flow
    def pipeline():  # type: ignore[no-untyped-def]
        failed = boom.submit()
        downstream = downstream_task.submit(failed)
        further = downstream_task.submit(downstream)
        return {
            "state": downstream.wait_state(),
            "further": further.wait_state(),
            "future": downstream,
        }

    result = pipeline()
    downstream = recorded.task_run("downstream_task-0")
    assert recorded.history(downstream.id) == ["Pending", "NotReady"]
    assert result["further"].name == "NotReady"  # it cascades
    assert "ended Failed" in downstream.state.message
    assert downstream.run_count == 0 and hooks == []  # the body never ran, no hook fired
    with pytest.raises(UnfinishedRun):  # UpstreamTaskError is an UnfinishedRun
        result["future"].result()
    assert isinstance(result["state"].exception, UpstreamTaskError)


def test_an_upstream_failure_raises_in_an_inline_call(recorded) -> None:
    @flow
    def pipeline() -> None:
        b(boom.submit())

    with pytest.raises(UpstreamTaskError):
        pipeline()


def test_allow_failure_lets_the_downstream_run_with_the_exception(recorded) -> None:
    @task
    def describe(x) -> str:  # type: ignore[no-untyped-def]
        return type(x).__name__

    @flow
    def pipeline() -> tuple[str, bool]:
        failed = boom.submit()
        waited = describe.submit(1, wait_for=[allow_failure(failed)])
        return describe(allow_failure(failed)), waited.result() == "int"

    assert pipeline() == ("RuntimeError", True)


def test_return_state_on_a_call_gives_the_state_not_an_exception(recorded) -> None:
    @flow
    def pipeline() -> bool:
        state = boom(return_state=True)
        return state.is_failed() and isinstance(state.result(raise_on_failure=False), RuntimeError)

    assert pipeline() is True


def test_wait_and_as_completed(recorded) -> None:
    @flow
    def pipeline() -> tuple[int, list[int]]:
        futures = [add.submit(i, 0) for i in range(5)]
        done, not_done = wait(futures, timeout=10)
        return len(done) + 10 * len(not_done), sorted(f.result() for f in as_completed(futures))

    assert pipeline() == (5, [0, 1, 2, 3, 4])


def test_a_long_dependency_chain_completes_in_order(recorded) -> None:
    @flow
    def pipeline() -> int:
        future = add.submit(0, 1)
        for _ in range(199):
            future = add.submit(future, 1)
        return future.result()

    assert pipeline() == 200
    assert len(recorded.edges()) == 199


def test_a_task_called_inside_a_task_records_its_parent(recorded) -> None:
    @task
    def outer() -> int:
        return add(1, 2)

    @flow
    def pipeline() -> int:
        return outer()

    assert pipeline() == 3
    inner = recorded.task_run("add-0")
    assert inner.parent_task_run_id == recorded.task_run("outer-0").id
    assert ("outer-0", "add-0", "parent") in recorded.edges()


def test_a_subflow_is_a_child_flow_run_linked_to_a_stand_in_task_run(recorded) -> None:
    @flow
    def child(x: int) -> int:
        return add(x, 1)

    @flow
    def parent() -> int:
        first = add.submit(1, 1)
        return child(first)

    assert parent() == 3
    parent_run, child_run = sorted(recorded.flow_runs(), key=lambda r: r.created)
    stand_in = recorded.task_run("child-0")
    assert stand_in.kind == "subflow" and stand_in.flow_run_id == parent_run.id
    assert (
        child_run.parent_task_run_id == stand_in.id
        and child_run.parent_flow_run_id == parent_run.id
    )
    assert recorded.history(stand_in.id) == ["Pending", "Running", "Completed"]
    assert ("add-0", "child-0", "data") in recorded.edges()
    assert child_run.parameters == {"x": 2}
    in_child = recorded.task_runs(child_run.id)
    assert [r.name for r in in_child] == ["add-0"] and in_child[0].state.is_completed()


def test_a_failed_subflow_fails_its_stand_in(recorded) -> None:
    @flow
    def child() -> None:
        raise ValueError("child broke")

    @flow
    def parent():  # type: ignore[no-untyped-def]
        return {"state": child(return_state=True)}

    state = parent()["state"]
    assert state.is_failed()
    assert recorded.task_run("child-0").state.is_failed()


def test_submit_outside_a_flow_says_how_to_fix_it() -> None:
    with pytest.raises(RuntimeError, match="inside a @flow"):
        add.submit(1, 2)


def test_a_task_called_outside_a_flow_just_runs(recorded) -> None:
    assert add(2, 3) == 5
    assert add.fn(2, 3) == 5


def test_a_task_called_outside_a_flow_is_recorded_as_prefect_records_it(recorded) -> None:
    """Prefect 3 creates a task run with no flow run, named after the task (no dynamic key)."""

    @task(task_run_name="double-{x}")
    def double(x: int) -> int:
        return x * 2

    assert add(2, 3) == 5
    assert double(4) == 8
    assert boom(return_state=True).is_failed()
    plain, named, failed = recorded.task_runs()
    assert (plain.name, named.name, failed.name) == ("add", "double-4", "boom")
    assert {r.flow_run_id for r in (plain, named, failed)} == {""}
    assert recorded.history(plain.id) == ["Pending", "Running", "Completed"]
    assert recorded.history(failed.id)[-1] == "Failed"
    assert any("Finished in state Failed" in log.message for log in recorded.logs())
    assert recorded.flow_runs() == []


def test_tasks_waiting_on_tasks_they_submitted_do_not_starve_the_pool(recorded) -> None:
    @task
    def child(x: int) -> int:
        return x

    @task
    def parent(x: int) -> int:
        return child.submit(x).result()

    @flow
    def pipeline() -> list[int]:
        return parent.map(range(40)).result()  # far more blocked parents than cores

    assert pipeline() == list(range(40))


def test_submit_and_map_honour_return_state(recorded) -> None:
    @flow
    def pipeline():  # type: ignore[no-untyped-def]
        return {
            "one": add.submit(1, 2, return_state=True),
            "many": add.map([1, 2], unmapped(1), return_state=True),
        }

    result = pipeline()
    assert result["one"].is_completed() and result["one"].result() == 3
    assert [s.result() for s in result["many"]] == [2, 3]


def test_a_task_that_depends_on_itself_fails_instead_of_waiting_forever(recorded) -> None:
    appended = threading.Event()

    @task
    def gate() -> int:
        appended.wait(10)
        return 0

    @task
    def count(items: list) -> int:  # type: ignore[type-arg]
        return len(items)

    @flow
    def pipeline() -> int:
        queue = [gate.submit()]
        queue.append(count.submit(queue))  # the list it reads now holds its own future
        appended.set()
        return queue[1].result()

    outcome: dict = {}  # type: ignore[type-arg]
    runner = threading.Thread(
        target=lambda: outcome.update(state=pipeline(return_state=True)), daemon=True
    )
    runner.start()
    runner.join(20)
    assert not runner.is_alive(), "the flow waited on a task that waits for itself"
    error = outcome["state"].result(raise_on_failure=False)
    assert isinstance(error, ValueError)
    assert str(error) == (
        "Discovered a task depending on itself. Raising to avoid a deadlock. "
        "Please inspect the inputs and dependencies of count."
    )
    assert recorded.task_run("count-0").state.name == "Failed"


def test_wait_for_a_failed_future_leaves_the_task_not_ready_in_every_call_form(recorded) -> None:
    @task
    def after() -> int:
        return 1

    @task
    async def after_async() -> int:
        return 1

    @flow
    def pipeline() -> list[str]:
        failed = boom.submit()
        states = [
            after(wait_for=[failed], return_state=True),
            after.submit(wait_for=[failed]).wait_state(),
            after.submit(wait_for=[failed], return_state=True),
            after(wait_for=[boom(return_state=True)], return_state=True),
            after_async.submit(wait_for=[failed]).wait_state(),
        ]
        return [s.name for s in states]

    assert pipeline() == ["NotReady"] * 5


def test_plain_results_passed_on_record_one_data_edge_per_upstream(recorded) -> None:
    @task
    def word() -> str:
        return "rows-" + "x" * 20

    @task
    def big() -> int:
        return 10**20

    @task
    def join(first: str, second: str, n: int, flag: bool = True) -> str:
        return f"{first}{second}{n}{flag}"

    @flow
    def pipeline() -> str:
        w, n = word(), big()
        return join(w, w, n)  # the same result twice: one edge

    assert pipeline().endswith("100000000000000000000True")
    assert recorded.edges() == {("word-0", "join-0", "data"), ("big-0", "join-0", "data")}
    edges = [e for e in recorded.records if type(e).__name__ == "EdgeRecord"]
    assert len(edges) == 2


def test_plain_results_passed_to_submit_record_one_data_edge_per_upstream(recorded) -> None:
    @task
    def word() -> str:
        return "rows-" + "x" * 20

    @task
    def join(first: str, second: str) -> str:
        return first + second

    @flow
    def pipeline() -> str:
        w = word()
        return join.submit(w, w).result()

    assert pipeline() == ("rows-" + "x" * 20) * 2
    edges = [e for e in recorded.records if type(e).__name__ == "EdgeRecord"]
    assert recorded.edges() == {("word-0", "join-0", "data")} and len(edges) == 1
