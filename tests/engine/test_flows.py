"""Flow runs: parameters, return values and states, retries, timeouts, hooks, names, runtime."""

from __future__ import annotations

import time

import pytest
from pydantic import BaseModel

from orchestrate import flow, tags, task
from orchestrate.core.errors import ParameterTypeError
from orchestrate.runtime import flow_run, task_run
from orchestrate.states import Completed, Failed, State


class Window(BaseModel):
    start: int
    end: int


def test_parameters_are_coerced_from_the_signature(recorded) -> None:
    @flow
    def pipeline(days: int, window: Window, label: str = "x") -> tuple:  # type: ignore[type-arg]
        return days, window, label

    days, window, label = pipeline("3", {"start": 1, "end": "2"})
    assert days == 3 and window == Window(start=1, end=2) and label == "x"
    assert recorded.flow_runs()[0].parameters["days"] == 3


def test_defaults_are_the_authors_choice_and_not_validated(recorded) -> None:
    @flow
    def pipeline(days: int = None, label: str | None = None) -> tuple:  # type: ignore[assignment,type-arg]  # noqa: RUF013
        return days, label

    assert pipeline() == (None, None)
    assert pipeline(label=None, days="4") == (4, None)
    with pytest.raises(ParameterTypeError, match=r"parameter 'days'"):
        pipeline(days="many")


def test_values_of_the_annotated_type_pass_unchanged_and_others_are_coerced(recorded) -> None:
    @flow
    def pipeline(days: int, ratio: float, on: bool, tags: list, maybe: int | None = 0) -> tuple:  # type: ignore[type-arg]
        return days, ratio, on, tags, maybe

    listing = ["a"]
    out = pipeline(3, 0.5, True, listing, None)
    assert out == (3, 0.5, True, ["a"], None) and out[3] is listing
    days, ratio, on, tags, maybe = pipeline(3.0, 2, "yes", ("a",), "7")
    assert (days, ratio, on, tags, maybe) == (3, 2.0, True, ["a"], 7)
    assert (type(days), type(ratio), type(tags), type(maybe)) == (int, float, list, int)


def test_a_bad_parameter_is_refused_before_the_body_runs_naming_it(recorded) -> None:
    ran = []

    @flow
    def pipeline(days: int) -> None:
        ran.append(days)

    with pytest.raises(ParameterTypeError, match=r"parameter 'days' \(expected int\).*got 'soon'"):
        pipeline("soon")
    state = pipeline("soon", return_state=True)
    assert state.is_failed() and isinstance(state.exception, ParameterTypeError)
    assert ran == []
    assert recorded.history(recorded.flow_runs()[0].id) == ["Pending", "Failed"]


def test_a_nested_model_error_names_the_field(recorded) -> None:
    @flow
    def pipeline(window: Window) -> None:
        pass

    with pytest.raises(ParameterTypeError, match=r"'window\.end'"):
        pipeline({"start": 1, "end": "late"})


def test_validation_can_be_turned_off(recorded) -> None:
    @flow(validate_parameters=False)
    def pipeline(days: int) -> object:
        return days

    assert pipeline("3") == "3"


def test_a_call_that_does_not_fit_the_signature_is_refused(recorded) -> None:
    @flow
    def pipeline(days: int) -> None:
        pass

    with pytest.raises(ParameterTypeError, match=r"missing a required argument: 'days'"):
        pipeline()


def test_a_flow_returning_a_state_ends_in_that_state(recorded) -> None:
    @flow
    def pipeline(ok: bool):  # type: ignore[no-untyped-def]
        return Completed(message="all good", data=7) if ok else Failed(message="nothing to do")

    good = pipeline(True, return_state=True)
    assert good.is_completed() and good.message == "all good" and good.result() == 7
    bad = pipeline(False, return_state=True)
    assert bad.is_failed() and bad.message == "nothing to do"


def test_a_flow_returning_failed_task_states_fails(recorded) -> None:
    @task
    def maybe(i: int) -> int:
        if i == 1:
            raise ValueError("one")
        return i

    @flow
    def pipeline():  # type: ignore[no-untyped-def]
        return [maybe.submit(i) for i in range(3)]

    state = pipeline(return_state=True)
    assert state.is_failed() and state.message == "1/3 states failed."
    assert [s.name for s in state.data] == [
        "Completed",
        "Failed",
        "Completed",
    ]  # Prefect keeps the states
    with pytest.raises(ValueError, match="one"):
        state.result()


def test_a_flow_returning_futures_gets_their_states(recorded) -> None:
    @task
    def value(i: int) -> int:
        return i

    @flow
    def pipeline():  # type: ignore[no-untyped-def]
        return {"all": [value.submit(1), value.submit(2)], "one": value.submit(3)}

    result = pipeline()
    assert [s.result() for s in result["all"]] == [1, 2] and result["one"].result() == 3


def test_a_task_returning_a_failed_state_fails_and_is_retried(recorded) -> None:
    calls = []

    @task(retries=2)
    def checks():  # type: ignore[no-untyped-def]
        calls.append(1)
        return (
            Failed(message="row count is zero")
            if len(calls) < 3
            else Completed(message="fine", data=5)
        )

    @flow
    def pipeline() -> State:
        return checks()

    returned = pipeline()  # as in Prefect, the call gives back the state the task returned
    assert returned.result() == 5 and returned.message == "fine" and len(calls) == 3
    assert recorded.task_run("checks-0").state.message == "fine"


def test_flow_retries_run_the_body_again(recorded) -> None:
    attempts = []

    @flow(retries=2, retry_delay_seconds=0)
    def pipeline() -> int:
        attempts.append(1)
        if len(attempts) < 3:
            raise OSError("disk busy")
        return len(attempts)

    assert pipeline() == 3
    run = recorded.flow_runs()[0]
    assert run.run_count == 3
    assert recorded.history(run.id) == [
        "Pending", "Running", "AwaitingRetry", "Retrying", "AwaitingRetry", "Retrying", "Completed",
    ]  # fmt: skip


def test_a_flow_past_its_timeout_ends_timed_out(recorded) -> None:
    @flow(timeout_seconds=0.2)
    def slow() -> None:
        time.sleep(10)

    started = time.monotonic()
    state = slow(return_state=True)
    assert state.name == "TimedOut" and state.is_failed()
    assert time.monotonic() - started < 5


def test_a_task_past_its_timeout_ends_timed_out_inline_and_submitted(recorded) -> None:
    @task(timeout_seconds=0.2)
    def slow_sleep() -> None:
        time.sleep(10)

    @task(timeout_seconds=0.2)
    def busy_loop() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pass

    @flow
    def pipeline():  # type: ignore[no-untyped-def]
        return {
            "inline": slow_sleep(return_state=True),
            "submitted": busy_loop.submit().wait_state(),
        }

    started = time.monotonic()
    result = pipeline()
    assert result["inline"].name == "TimedOut" and result["submitted"].name == "TimedOut"
    assert time.monotonic() - started < 5


def test_a_flow_timeout_fires_through_a_task_without_one(recorded) -> None:
    @task
    def forever() -> None:
        time.sleep(10)

    @flow(timeout_seconds=0.2)
    def pipeline() -> None:
        forever()

    assert pipeline(return_state=True).name == "TimedOut"
    assert recorded.task_run("forever-0").state.name == "Crashed"


def test_state_hooks_are_called_with_flow_run_and_state(recorded) -> None:
    calls = []

    def remember(kind: str):  # type: ignore[no-untyped-def]
        return lambda flow_, run, state: calls.append((kind, flow_.name, run.name, state.name))

    def broken_hook(*args) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("hook bug")

    @flow(
        flow_run_name="run-{n}",
        on_running=[remember("running")],
        on_completion=[broken_hook, remember("completed")],
        on_failure=[remember("failed")],
    )
    def pipeline(n: int) -> None:
        if n < 0:
            raise ValueError("negative")

    pipeline(1)
    pipeline(-1, return_state=True)
    assert calls == [
        ("running", "pipeline", "run-1", "Running"),
        ("completed", "pipeline", "run-1", "Completed"),
        ("running", "pipeline", "run--1", "Running"),
        ("failed", "pipeline", "run--1", "Failed"),
    ]
    assert any("hook bug" in log.message for log in recorded.logs())


def test_task_hooks(recorded) -> None:
    calls = []

    @task(
        on_completion=[lambda t, r, s: calls.append(("ok", t.name, s.name))],
        on_failure=[lambda t, r, s: calls.append(("bad", r.name, s.name))],
    )
    def work(fail: bool) -> None:
        if fail:
            raise ValueError("x")

    @flow
    def pipeline() -> None:
        work(False)
        work(True, return_state=True)

    pipeline()
    assert calls == [("ok", "work", "Completed"), ("bad", "work-1", "Failed")]


def test_run_names_templates_and_runtime(recorded) -> None:
    seen = {}

    @task(task_run_name="load-{table}")
    def load(table: str) -> None:
        seen["task"] = (task_run.name, task_run.parameters, task_run.id is not None)

    @flow(flow_run_name=lambda: "custom-name")
    def pipeline(day: str) -> None:
        seen["flow"] = (
            flow_run.name,
            flow_run.parameters,
            flow_run.scheduled_start_time is not None,
        )
        load("users")

    pipeline("mon")
    assert seen["flow"] == ("custom-name", {"day": "mon"}, True)
    assert seen["task"] == ("load-users", {"table": "users"}, True)
    assert flow_run.id is None and task_run.parameters == {}


def test_random_flow_run_names_read_well(recorded) -> None:
    @flow
    def pipeline() -> None:
        pass

    pipeline()
    adjective, animal = recorded.flow_runs()[0].name.split("-")
    assert adjective.isalpha() and animal.isalpha()


def test_tags_apply_to_runs_created_inside(recorded) -> None:
    @task(tags=["db"])
    def work() -> None:
        pass

    @flow
    def pipeline() -> None:
        with tags("nightly"):
            work()

    with tags("etl"):
        pipeline()
    assert recorded.flow_runs()[0].tags == ("etl",)
    assert recorded.task_run("work-0").tags == ("db", "etl", "nightly")


def test_with_options_copies_and_changes(recorded) -> None:
    @flow(retries=1)
    def pipeline() -> str:
        return "ok"

    renamed = pipeline.with_options(name="other", retries=3)
    assert (renamed.name, renamed.retries, pipeline.name, pipeline.retries) == (
        "other",
        3,
        "pipeline",
        1,
    )
    assert renamed() == "ok" and renamed.fn is pipeline.fn
    with pytest.raises(TypeError, match="Unknown flow option"):
        pipeline.with_options(retires=2)


def test_default_names_follow_prefect(recorded) -> None:
    @flow
    def my_etl_flow() -> None:
        """Loads the data."""

    assert my_etl_flow.name == "my-etl-flow" and my_etl_flow.description == "Loads the data."


def test_persist_result_on_a_flow_writes_its_result(recorded, tmp_path) -> None:
    @flow(persist_result=True)
    def pipeline() -> dict:  # type: ignore[type-arg]
        return {"rows": 3}

    pipeline()
    run = recorded.flow_runs()[0]
    assert (tmp_path / ".orc" / "results" / run.id).is_file()


def test_keyboard_interrupt_crashes_the_run_and_propagates(recorded) -> None:
    @flow
    def pipeline() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pipeline()
    assert recorded.flow_runs()[0].state.name == "Crashed"


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt  # an interrupt outside the body, as SIGTERM between attempts is


def test_a_subflow_interrupted_outside_its_body_ends_crashed_with_its_stand_in(recorded) -> None:
    @flow(on_running=[_interrupt])
    def child() -> None:
        pass

    @flow
    def parent() -> None:
        child()

    with pytest.raises(KeyboardInterrupt):
        parent()
    child_run = next(r for r in recorded.flow_runs() if r.flow_name == "child")
    assert child_run.state.name == "Crashed"
    assert recorded.task_run("child-0").state.name == "Crashed"  # the parent's task run for it


def test_a_task_run_interrupted_outside_its_body_ends_crashed(recorded) -> None:
    @task(on_running=[_interrupt])
    def interrupted() -> None:
        pass

    @flow
    def calls() -> None:
        interrupted()

    with pytest.raises(KeyboardInterrupt):
        calls()
    run = recorded.task_run("interrupted-0")
    assert (run.state.name, run.state.message) == ("Crashed", "Interrupted by KeyboardInterrupt")
