"""Prefect code that behaved differently under orc, each case as Prefect's docs or source have it.

Each test is a snippet a user moving from Prefect would write, with only the import changed.
"""

from __future__ import annotations

import asyncio
import datetime
import sys

import pytest

from orchestrate import flow, task
from orchestrate.context import get_run_context
from orchestrate.exceptions import (
    FailedRun,
    MissingContextError,
    ParameterBindError,
    PrefectException,
)


def test_a_flow_and_a_task_with_a_parameter_before_star_args_get_each_argument_once(
    recorded,
) -> None:
    @task
    def pack(a: int, *rest: int) -> tuple[int, tuple[int, ...]]:
        return a, rest

    @flow
    def outer(a: int, *rest: int) -> tuple[object, object]:
        return (a, rest), pack(1, 2, 3)

    assert outer(7, 8, 9) == ((7, (8, 9)), (1, (2, 3)))


def test_a_task_that_opts_out_of_log_prints_prints_as_usual_in_a_flow_that_logs_them(
    recorded, capsys
) -> None:
    @task(log_prints=False)
    def quiet() -> None:
        print("task print opted out")

    @flow(log_prints=True)
    def loud() -> None:
        print("flow print")
        quiet()

    loud()
    messages = [r.message for r in recorded.logs()]
    assert "flow print" in messages and "task print opted out" not in messages
    assert "task print opted out" in capsys.readouterr().out


def test_log_prints_captures_prints_to_stderr_as_prefect_does(recorded, capsys) -> None:
    @flow(log_prints=True)
    def warns() -> None:
        print("to stderr", file=sys.stderr)

    warns()
    assert "to stderr" in [r.message for r in recorded.logs()]
    assert "to stderr" not in capsys.readouterr().err


def test_an_async_hook_of_a_sync_task_inside_an_async_flow_runs(recorded) -> None:
    seen: list[str] = []

    async def noted(task_, task_run, state) -> None:  # type: ignore[no-untyped-def]
        await asyncio.sleep(0)
        seen.append(f"{task_run.name} {state.name}")

    @task(on_completion=[noted])
    def one() -> int:
        return 1

    @flow
    async def outer() -> int:
        return one()

    assert asyncio.run(outer()) == 1
    assert seen == ["one-0 Completed"]
    assert not [r for r in recorded.logs() if "error was encountered" in r.message]


def test_arguments_that_do_not_fit_a_flow_raise_a_type_error_as_in_prefect(recorded) -> None:
    @flow
    def needs(x: int) -> int:
        return x

    with pytest.raises(TypeError) as caught:
        needs()  # type: ignore[call-arg]
    assert isinstance(caught.value, ParameterBindError | PrefectException)
    assert "missing a required argument: 'x'" in str(caught.value)


def test_the_run_context_outside_a_run_is_a_missing_context_error() -> None:
    with pytest.raises(MissingContextError) as caught:
        get_run_context()
    assert isinstance(caught.value, PrefectException) and isinstance(caught.value, RuntimeError)


@pytest.mark.parametrize("code", [0, 3, "no config"])
def test_a_flow_that_calls_sys_exit_is_crashed_and_says_with_what(recorded, code) -> None:
    @flow
    def leaves() -> None:
        sys.exit(code)

    with pytest.raises(SystemExit):  # as in Prefect, the interrupt goes on after the record
        leaves()
    (run,) = recorded.flow_runs()
    assert run.state.type.value == "CRASHED"
    assert run.state.message == f"Interrupted by SystemExit: the code called sys.exit({code!r})"


# --- run names: worked out inside the run, from validated and resolved parameters ------------


def test_a_flow_run_name_callable_reads_the_runs_parameters_as_in_prefects_docs(
    recorded,
) -> None:
    from orchestrate.runtime import flow_run

    def generate_flow_run_name() -> str:
        flow_name = flow_run.flow_name
        parameters = flow_run.parameters
        return f"{flow_name}-with-{parameters['name']}-and-{parameters['limit']}"

    @flow(flow_run_name=generate_flow_run_name)
    def my_flow(name: str, limit: int = 100) -> str:
        return flow_run.name

    assert my_flow(name="marvin") == "my-flow-with-marvin-and-100"
    assert [r.name for r in recorded.flow_runs()] == ["my-flow-with-marvin-and-100"]


def test_a_flow_run_name_template_formats_the_validated_parameters(recorded) -> None:
    @flow(flow_run_name="hello-{name}-on-{date:%A}")
    def greet(name: str, date: datetime.datetime) -> None:
        pass

    greet(name="marvin", date="2024-01-01T00:00:00")  # type: ignore[arg-type]
    assert [r.name for r in recorded.flow_runs()] == ["hello-marvin-on-Monday"]


def test_a_task_run_name_callable_reads_the_task_runs_parameters(recorded) -> None:
    from orchestrate.runtime import task_run

    def generate_task_name() -> str:
        return f"{task_run.task_name}-with-{task_run.parameters['name']}"

    @task(task_run_name=generate_task_name)
    def my_task(name: str) -> str:
        return task_run.name

    @flow
    def my_flow() -> str:
        return my_task(name="marvin")

    assert my_flow() == "my_task-with-marvin"
    assert [r.name for r in recorded.task_runs()] == ["my_task-with-marvin"]


def test_a_task_run_name_template_formats_the_resolved_arguments(recorded) -> None:
    @task
    def one() -> int:
        return 1

    @task(task_run_name="double-{x}")
    def double(x: int) -> int:
        return 2 * x

    @flow
    def my_flow() -> int:
        return double.submit(one.submit()).result()

    assert my_flow() == 2
    assert sorted(r.name for r in recorded.task_runs()) == ["double-1", "one-0"]


# --- states a task returns ----------------------------------------------------------------


def test_a_task_called_directly_returns_the_state_it_returned_as_in_prefects_docs(
    recorded,
) -> None:
    from orchestrate.states import Completed, Failed, State

    @task
    def toggle_task(fail: bool) -> State:
        if fail:
            return Failed(message="I was instructed to fail.")
        return Completed(message="I was instructed to succeed.")

    seen: list[State] = []

    @flow
    def example() -> tuple[State, State]:
        state_one = toggle_task(fail=True)  # this run is Failed; the call does not raise
        state_two = toggle_task(fail=False)
        seen.extend([state_one, state_two])
        return state_one, state_two  # the flow run fails: one of its states did

    final = example(return_state=True)
    assert final.is_failed()
    state_one, state_two = seen
    assert state_one.is_failed() and state_one.message == "I was instructed to fail."
    assert state_two.is_completed() and state_two.message == "I was instructed to succeed."
    assert [r.state.name for r in recorded.task_runs()] == ["Failed", "Completed"]


# --- a failed flow's result without raising ------------------------------------------------


def test_result_without_raising_gives_a_failed_flows_data_as_prefects_test_does(
    recorded,
) -> None:
    @task
    def fails() -> None:
        raise ValueError("Fail task!")

    @task
    def bar(y: object) -> None:
        pass

    @flow
    def test_flow() -> object:
        f = fails.submit()
        return bar.submit(f)

    flow_state = test_flow(return_state=True)
    assert flow_state.is_failed()
    task_state = flow_state.result(raise_on_failure=False)
    assert task_state.is_pending() and task_state.name == "NotReady"
    with pytest.raises(FailedRun):  # raising stays as it was
        flow_state.result()


def test_a_finished_runs_hooks_run_in_its_context_as_in_prefect(recorded) -> None:
    """`get_run_logger()` in an `on_completion` or `on_failure` hook raised MissingContextError:
    orc ran hooks after leaving the run's context, where Prefect runs them inside it."""
    from orchestrate import get_run_logger
    from orchestrate.runtime import flow_run, task_run

    def flow_hook(flow_, run, state) -> None:  # type: ignore[no-untyped-def]
        get_run_logger().info("flow hook sees %s", flow_run.parameters)

    def task_hook(task_, run, state) -> None:  # type: ignore[no-untyped-def]
        get_run_logger().info("task hook sees %s", task_run.name)

    @task(on_completion=[task_hook])
    def one() -> int:
        return 1

    @flow(on_completion=[flow_hook])
    def outer(x: int = 1) -> int:
        return one()

    assert outer(3) == 1
    messages = [r.message for r in recorded.logs()]
    assert "flow hook sees {'x': 3}" in messages and "task hook sees one-0" in messages
    assert not [m for m in messages if "error was encountered" in m]
