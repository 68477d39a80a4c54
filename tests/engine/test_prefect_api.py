"""Prefect code runs unchanged: decorators on methods, validation, hooks, context and annotations."""

from __future__ import annotations

import pytest

from orchestrate import flow, task
from orchestrate.context import FlowRunContext, TaskRunContext


def test_run_contexts_are_found_with_their_class_get(recorded) -> None:
    seen: dict[str, object] = {}

    @task
    def work() -> None:
        context = TaskRunContext.get()
        assert context is not None
        seen["task"] = (context.task_run.name, FlowRunContext.get() is not None)

    @flow(flow_run_name="run-{day}")
    def pipeline(day: str) -> None:
        context = FlowRunContext.get()
        assert context is not None
        seen["flow"] = (context.flow_run.name, context.parameters, TaskRunContext.get())
        work()

    assert FlowRunContext.get() is None and TaskRunContext.get() is None
    pipeline("mon")
    assert seen == {"flow": ("run-mon", {"day": "mon"}, None), "task": ("work-0", True)}


# --- decorator-time validation (as Prefect's Flow and Task constructors do it) ----------


def _noop() -> None:
    pass


@pytest.mark.parametrize("decorator", [flow, task])
def test_hooks_must_be_a_list_of_callables(decorator) -> None:
    with pytest.raises(TypeError, match=r"Expected iterable for 'on_completion'; got function"):
        decorator(on_completion=_noop)(_noop)
    with pytest.raises(TypeError, match=r"Expected callables in 'on_failure'; got str"):
        decorator(on_failure=[_noop, "not a hook"])(_noop)


def test_flow_only_hooks_are_checked_too() -> None:
    for hook in ("on_cancellation", "on_crashed", "on_running"):
        with pytest.raises(TypeError, match=rf"Expected callables in '{hook}'; got int"):
            flow(**{hook: [1]})(_noop)


def test_run_names_must_be_strings_or_callables() -> None:
    with pytest.raises(
        TypeError, match=r"Expected string or callable for 'task_run_name'; got int"
    ):
        task(task_run_name=3)(_noop)
    with pytest.raises(
        TypeError, match=r"Expected string or callable for 'flow_run_name'; got list"
    ):
        flow(flow_run_name=["x"])(_noop)


def test_retry_settings_are_checked_when_decorating() -> None:
    with pytest.raises(ValueError, match=r"more than 50 retry delays"):
        task(retries=51, retry_delay_seconds=[1] * 51)(_noop)
    with pytest.raises(ValueError, match=r"retry_jitter_factor.*>= 0"):
        task(retry_jitter_factor=-1)(_noop)
    with pytest.raises(TypeError, match=r"Expected `retry_condition_fn` to be callable, got int"):
        task(retry_condition_fn=1)(_noop)
    with pytest.raises(TypeError, match=r"Invalid `retry_delay_seconds`"):
        task(retry_delay_seconds="soon")(_noop)
    assert task(retry_delay_seconds=[1] * 50)(_noop).retry_delay_seconds == [1] * 50


def test_with_options_timeout_zero_unsets_the_timeout() -> None:
    timed = task(timeout_seconds=5)(_noop)
    assert timed.with_options(timeout_seconds=0).timeout_seconds is None
    assert flow(timeout_seconds=5)(_noop).with_options(timeout_seconds=0).timeout_seconds is None
    assert task(timeout_seconds=0)(_noop).timeout_seconds is None
