"""Generator tasks stream inside their task run, as Prefect 3 runs them (sync, called directly)."""

from __future__ import annotations

from orchestrate import flow, task
from orchestrate.context import TaskRunContext


def test_a_generator_task_streams_its_items_inside_its_task_run(recorded) -> None:
    events: list[str] = []

    @task
    def numbers(n: int):  # type: ignore[no-untyped-def]
        for i in range(n):
            context = TaskRunContext.get()
            events.append(f"made {i} in {context.task_run.name if context else None}")
            yield i

    @flow
    def pipeline() -> list[int]:
        out = []
        for item in numbers(2):
            events.append(f"got {item}")
            out.append(item)
        return out

    assert pipeline() == [0, 1]
    assert events == ["made 0 in numbers-0", "got 0", "made 1 in numbers-0", "got 1"]
    run = recorded.task_run("numbers-0")
    assert recorded.history(run.id) == ["Pending", "Running", "Completed"]


def test_a_failing_generator_task_is_retried_from_its_start(recorded) -> None:
    attempts: list[int] = []

    @task(retries=1)
    def flaky():  # type: ignore[no-untyped-def]
        attempts.append(1)
        yield "a"
        if len(attempts) == 1:
            raise RuntimeError("broke mid-stream")
        yield "b"

    @flow
    def pipeline() -> list[str]:
        return list(flaky())

    assert pipeline() == ["a", "a", "b"]  # what was yielded stays yielded, as in Prefect
    run = recorded.task_run("flaky-0")
    assert run.state.name == "Completed" and run.run_count == 2


def test_a_caller_that_stops_early_leaves_the_run_completed(recorded) -> None:
    @task
    def endless():  # type: ignore[no-untyped-def]
        i = 0
        while True:
            yield i
            i += 1

    @flow
    def pipeline() -> list[int]:
        stream = endless()
        first = [next(stream), next(stream)]
        stream.close()
        return first

    assert pipeline() == [0, 1]
    assert recorded.task_run("endless-0").state.name == "Completed"
