"""A plain task called directly skips the rules it cannot need, and records exactly what they would.

`Plainness` decides, once per task, whether a call may take the short path
(`plain_runs.run_plain`); these tests pin which options keep a task off it
and that, on it, the records (states, edges, task runs, logs) match those of
the full rules (`task_steps`) record for record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from orchestrate import flow, task
from orchestrate.core.records import EdgeRecord, LogRecord, StateRecord, TaskRunRecord
from orchestrate.engine import task_engine
from orchestrate.engine.definitions import Plainness
from orchestrate.states import Failed
from orchestrate.transactions import transaction


@task
def double(x: int) -> int:
    return x * 2


@task
def boom(x: int) -> int:
    raise ValueError(f"no {x}")


@task
def gives_failed() -> Any:
    return Failed(message="returned failed")


@task
def outer(x: int) -> int:
    return double(x) + 1


@task(task_run_name="named-{x}", tags=["t"])
def templated(x: int, pair: tuple[int, int] = (1, 2)) -> list[int]:
    return [x, *pair]


def _scenario() -> None:
    a = double(300)  # not interned: linked to its run, so the next call records a data edge
    double(a)
    outer(5)  # a task run inside a task run: a parent edge
    templated(7)
    double.with_options(timeout_seconds=30)(1000)
    gives_failed(return_state=True)
    failed = boom(1, return_state=True)
    double(failed, return_state=True)  # its upstream failed: NotReady, never run


def _submitted() -> None:
    first = double.submit(300)
    second = double.submit(first)  # a future passed on: a data edge, run once it is done
    double.map([1000, 2000, 3000])
    failed = boom.submit(1)
    double.submit(failed).wait()  # NotReady
    outer.submit(5).wait()
    second.wait()


def _shape(sink: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Each run's records in order (runs submitted together interleave), ids swapped for names."""
    names = {r.id: r.name for r in sink.task_runs()}
    names.update({r.id: "flow" for r in sink.flow_runs()})
    shape: dict[str, list[tuple[Any, ...]]] = {}
    for record in sink.records:
        if isinstance(record, StateRecord):
            state = record.state
            entry: tuple[Any, ...] = ("state", state.name, _named(state.message, names))
            who = names[record.run_id]
        elif isinstance(record, EdgeRecord):
            entry, who = ("edge", names[record.upstream_id], record.kind), names[record.task_run_id]
        elif isinstance(record, TaskRunRecord):
            entry, who = ("task run",), record.name
        elif isinstance(record, LogRecord):
            entry = ("log", record.level, _named(record.message, names))
            who = names.get(record.task_run_id or "", "flow")
        else:
            continue
        shape.setdefault(who, []).append(entry)
    for run in sink.task_runs():
        final = (
            "final",
            run.state.name,
            run.run_count,
            run.start_time is not None,
            run.end_time is not None,
            names.get(run.parent_task_run_id or ""),
            run.tags,
            run.cache_key,
        )
        shape[run.name].append(final)
    return shape


def _named(text: str | None, names: dict[str, str]) -> str | None:
    for run_id, name in names.items():
        text = text.replace(run_id, name) if text else text
    return text


def _run(recorded: Any, body: Callable[[], None]) -> dict[str, list[tuple[Any, ...]]]:
    @flow(name="plain", flow_run_name="plain-run")
    def plain_flow() -> None:
        body()

    recorded.records.clear()
    plain_flow()
    return _shape(recorded)


def _history(shape: dict[str, list[tuple[Any, ...]]], name: str) -> list[str]:
    return [entry[1] for entry in shape[name] if entry[0] == "state"]


@pytest.mark.parametrize("body", [_scenario, _submitted], ids=["called", "submitted"])
def test_a_plain_task_records_what_the_full_rules_record(
    recorded: Any, monkeypatch: pytest.MonkeyPatch, body: Callable[[], None]
) -> None:
    short = _run(recorded, body)
    monkeypatch.setattr(task_engine, "_runs_plain", lambda task, flow_ctx: False)
    full = _run(recorded, body)
    assert short == full
    assert _history(short, "double-0") == ["Pending", "Running", "Completed"]
    assert _history(short, "boom-0") == ["Pending", "Running", "Failed"]
    assert ("edge", "double-0", "data") in short["double-1"]
    assert ("edge", "outer-0", "parent") in short["double-2" if body is _scenario else "double-6"]
    not_ready = "double-4" if body is _scenario else "double-5"
    assert _history(short, not_ready) == ["Pending", "NotReady"]


def test_a_returned_failed_state_fails_the_plain_run(recorded: Any) -> None:
    shape = _run(recorded, _scenario)
    assert _history(shape, "gives_failed-0") == ["Pending", "Running", "Failed"]


def test_the_short_path_is_taken_for_plain_tasks_only(recorded: Any, monkeypatch: Any) -> None:
    taken: list[str] = []
    real = task_engine.run_plain

    def spy(job: Any) -> Any:
        taken.append(job.task.options.name)
        return real(job)

    monkeypatch.setattr(task_engine, "run_plain", spy)
    retried = double.with_options(name="retried", retries=1)

    @flow
    def mixed() -> None:
        double(1)
        double.submit(4).wait()
        retried(2)
        with transaction():
            double(3)  # inside a transaction: its run joins it, so the full rules

    mixed()
    assert taken == ["double", "double"]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, Plainness.FLOW_DECIDES),
        ({"persist_result": False, "log_prints": False}, Plainness.ALWAYS),
        ({"timeout_seconds": 5, "tags": ["a"]}, Plainness.FLOW_DECIDES),
        ({"task_run_name": "x"}, Plainness.NEVER),  # named inside its run, by the full rules
        ({"retries": 2}, Plainness.NEVER),
        ({"persist_result": True}, Plainness.NEVER),
        ({"log_prints": True}, Plainness.NEVER),
        ({"cache_key_fn": lambda ctx, params: "k"}, Plainness.NEVER),
        ({"result_storage_key": "{parameters[x]}.pkl"}, Plainness.NEVER),
        ({"cache_result_in_memory": False}, Plainness.NEVER),
        ({"result_serializer": "json"}, Plainness.NEVER),
        ({"on_completion": [lambda t, r, s: None]}, Plainness.NEVER),
        ({"on_commit": [lambda txn: None]}, Plainness.NEVER),
    ],
)
def test_which_options_make_a_task_plain(options: dict[str, Any], expected: Plainness) -> None:
    assert double.with_options(**options).plain is expected


def test_a_hook_added_after_the_task_was_made_still_runs(recorded) -> None:
    @task
    def late(x: int) -> int:
        return x

    assert late.plain is Plainness.FLOW_DECIDES
    seen: list[str] = []

    @late.on_completion
    def note(tsk: Any, run: Any, state: Any) -> None:
        seen.append(state.name)

    @flow
    def uses_late() -> int:
        return late(1)

    assert uses_late() == 1
    assert late.plain is Plainness.NEVER and seen == ["Completed"]


def test_a_flow_that_persists_results_persists_its_plain_tasks_results(recorded) -> None:
    @flow(persist_result=True)
    def persisting() -> int:
        return double(21)

    assert persisting() == 42
    assert recorded.task_run("double-0").cache_key is not None


def test_a_flow_that_logs_prints_captures_its_plain_tasks_prints(recorded) -> None:
    @task
    def talks() -> None:
        print("hello from the task")

    @flow(log_prints=True)
    def printing() -> None:
        talks()

    printing()
    assert any(r.message == "hello from the task" for r in recorded.logs())
