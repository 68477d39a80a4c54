"""Prefect code runs unchanged: decorators on methods, validation, hooks, context and annotations."""

from __future__ import annotations

import threading

import pytest
from pydantic import BaseModel

from orchestrate import flow, task
from orchestrate.context import FlowRunContext, TaskRunContext
from orchestrate.core.errors import ParameterTypeError
from orchestrate.flows import Flow
from orchestrate.tasks import Task
from orchestrate.utilities.annotations import allow_failure, quote


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


# --- methods and callables ---------------------------------------------------------------


class Scaler:
    """Flows and tasks as methods: `self` is bound, not a parameter."""

    def __init__(self, factor: int) -> None:
        self.factor = factor

    @task
    def scale(self, x: int) -> int:
        return x * self.factor

    @flow
    def run(self, x: int) -> int:
        return self.scale(x) + self.scale.submit(x).result()

    @flow
    @classmethod
    def named(cls, x: int) -> str:
        return f"{cls.__name__}:{x}"

    @task
    @staticmethod
    def double(x: int) -> int:
        return 2 * x

    @flow
    @staticmethod
    def quadruple(x: int) -> int:
        return Scaler.double(Scaler.double(x))


def test_flows_and_tasks_on_instance_methods_bind_self(recorded) -> None:
    assert Scaler(3).run("2") == 12  # "2" coerced to int: self is not a parameter
    assert Scaler(5).run(1) == 10
    runs = recorded.flow_runs()
    assert [r.parameters for r in runs] == [{"x": 2}, {"x": 1}]
    assert {r.name.split("-")[0] for r in recorded.task_runs()} == {"scale"}
    assert isinstance(Scaler.run, type(Scaler(1).run))  # a Flow on the class and on an instance


def test_a_hook_added_after_binding_reaches_later_bindings(recorded) -> None:
    class Job:
        @flow
        def go(self) -> int:
            return 1

    Job().go()
    seen: list[str] = []
    Job.go.on_completion(lambda flow, run, state: seen.append(state.name))
    Job().go()
    assert seen == ["Completed"]


def test_classmethod_and_staticmethod_flows_and_tasks(recorded) -> None:
    assert Scaler.named(4) == "Scaler:4"
    assert Scaler(1).named(5) == "Scaler:5"
    assert Scaler.quadruple(3) == 12 and Scaler(1).quadruple(1) == 4
    assert [r.parameters for r in recorded.flow_runs()] == [{"x": 4}, {"x": 5}, {"x": 3}, {"x": 1}]
    assert len(recorded.task_runs()) == 4


class Adder:
    """A callable object."""

    def __init__(self, amount: int) -> None:
        self.amount = amount

    def __call__(self, x: int) -> int:
        return x + self.amount


def test_callable_objects_become_flows_and_tasks(recorded) -> None:
    add = task(Adder(1))
    pipeline = flow(name="adding")(Adder(10))
    assert add.name == "Adder" and pipeline.name == "adding"

    @flow
    def outer() -> int:
        return add(1) + pipeline(1)

    assert outer() == 13
    assert recorded.task_run("Adder-0").state.name == "Completed"


class AsyncDoubler:
    async def __call__(self, x: int) -> int:
        return 2 * x


def test_an_async_callable_object_is_an_async_task(recorded) -> None:
    import asyncio

    double = task(AsyncDoubler())

    @flow
    async def outer() -> int:
        return await double(2)

    assert double.is_async and asyncio.run(outer()) == 4


def test_flow_and_task_objects_are_built_like_prefects() -> None:
    def body(x: int) -> int:
        return x

    built = Flow(fn=body, name="built", retries=2)
    assert (built.name, built.retries, built.fn) == ("built", 2, body)
    made = Task(fn=body, name="made", tags=["a"])
    assert (made.name, made.tags, made.fn) == ("made", {"a"}, body)
    assert Task(body).name == "body" and Flow(body).name == "body"
    with pytest.raises(TypeError, match="'fn' must be callable"):
        Flow(fn=3)  # type: ignore[arg-type]


# --- hooks ---------------------------------------------------------------------------------


def test_every_flow_hook_registers_with_its_decorator(recorded) -> None:
    calls: list[tuple[str, str]] = []

    @flow
    def pipeline(fail: bool) -> None:
        if fail:
            raise ValueError("boom")

    def record(kind: str):  # type: ignore[no-untyped-def]
        def hook(flow, flow_run, state) -> None:  # type: ignore[no-untyped-def]
            calls.append((kind, state.name))

        return hook

    for kind in ("on_running", "on_completion", "on_failure", "on_cancellation", "on_crashed"):
        registered = record(kind)
        assert getattr(pipeline, kind)(registered) is registered
    assert len(pipeline.on_completion_hooks) == 1

    pipeline(False)
    pipeline(True, return_state=True)
    assert calls == [
        ("on_running", "Running"),
        ("on_completion", "Completed"),
        ("on_running", "Running"),
        ("on_failure", "Failed"),
    ]


def test_task_hooks_register_with_their_decorator(recorded) -> None:
    calls: list[tuple[str, str]] = []

    @task
    def work(fail: bool) -> None:
        if fail:
            raise ValueError("boom")

    @work.on_completion
    def done(task, task_run, state) -> None:  # type: ignore[no-untyped-def]
        calls.append((task.name, state.name))

    @work.on_failure
    def failed(task, task_run, state) -> None:  # type: ignore[no-untyped-def]
        calls.append((task.name, state.name))

    @flow
    def pipeline() -> None:
        work(False)
        work(True, return_state=True)

    pipeline()
    assert calls == [("work", "Completed"), ("work", "Failed")]
    with pytest.raises(TypeError, match="Expected callables in 'on_failure'"):
        work.on_failure(3)  # type: ignore[arg-type]


def test_a_failing_hook_is_logged_as_prefect_logs_it(recorded) -> None:
    def broken(flow, flow_run, state) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("hook broke")

    @flow(on_completion=[broken])
    def pipeline() -> int:
        return 1

    assert pipeline() == 1
    announce, line = [r for r in recorded.logs() if "hook" in r.message]
    assert announce.message == "Running hook 'broken' in response to entering state 'Completed'"
    assert line.message.startswith("An error was encountered while running hook 'broken'")
    assert "RuntimeError: hook broke" in line.message


# --- annotations ---------------------------------------------------------------------------


def test_quote_unquotes_and_a_task_receives_the_value_untouched(recorded) -> None:
    @task
    def first() -> int:
        return 1

    @task
    def inspect_it(value: object) -> object:
        return value

    @flow
    def pipeline() -> tuple[object, object]:
        future = first.submit()
        passed = inspect_it(quote([future]))
        return passed, future

    assert quote(5).unquote() == 5 and quote(5).unwrap() == 5
    passed, future = pipeline()
    assert passed == [future]  # not resolved: the future itself, inside the list


def test_map_over_a_quoted_iterable_quotes_each_item(recorded) -> None:
    @task
    def echo(item: object) -> object:
        return item

    @flow
    def pipeline() -> list[object]:
        return echo.map(quote([[1], [2]])).result()

    assert pipeline() == [[1], [2]]


# --- smaller ones ----------------------------------------------------------------------------


def test_map_leaves_defaults_whole_and_spreads_keyword_arguments(recorded) -> None:
    @task
    def combine(x: int, pair: tuple[int, int] = (7, 8), **extra: object) -> tuple[object, ...]:
        return x, pair, extra

    @flow
    def pipeline() -> list[tuple[object, ...]]:
        return combine.map([1, 2, 3], scale=10, label=["a", "b", "c"]).result()

    assert pipeline() == [
        (1, (7, 8), {"scale": 10, "label": "a"}),
        (2, (7, 8), {"scale": 10, "label": "b"}),
        (3, (7, 8), {"scale": 10, "label": "c"}),
    ]


def test_a_subflow_waits_for_the_futures_it_is_given(recorded) -> None:
    order: list[str] = []
    started = threading.Event()

    @task
    def slow() -> None:
        started.set()
        assert released.wait(5)
        order.append("task")

    @flow
    def child() -> str:
        order.append("child")
        return "done"

    released = threading.Event()

    @flow
    def parent() -> str:
        future = slow.submit()
        assert started.wait(5)
        threading.Timer(0.05, released.set).start()
        return child(wait_for=[future])

    assert parent() == "done" and order == ["task", "child"]


def test_a_subflow_does_not_start_after_a_failed_upstream(recorded) -> None:
    ran: list[str] = []

    @task
    def broken() -> None:
        raise ValueError("upstream broke")

    @flow
    def child() -> None:
        ran.append("child")

    @flow
    def parent() -> None:
        future = broken.submit()
        child(wait_for=[future])

    state = parent(return_state=True)
    assert state.is_failed() and ran == []
    allowed: list[str] = []

    @flow
    def lenient() -> None:
        future = broken.submit()
        child(wait_for=[allow_failure(future)])
        allowed.append("after")

    lenient(return_state=True)
    assert ran == ["child"] and allowed == ["after"]


def test_task_run_name_callables_may_take_the_parameters(recorded) -> None:
    def name_from(parameters: dict[str, object]) -> str:
        return f"load-{parameters['table']}"

    @task(task_run_name=name_from)
    def load(table: str) -> None:
        pass

    @flow
    def pipeline() -> None:
        load("users")

    pipeline()
    assert recorded.task_run("load-users").state.name == "Completed"


def test_task_tags_and_source_code() -> None:
    @task(tags=["a", "b"])
    def tagged() -> None:
        pass

    assert tagged.tags == {"a", "b"} and isinstance(tagged.tags, set)
    assert tagged.source_code is not None and "def tagged" in tagged.source_code
    assert Task(fn=len).source_code is None  # a builtin has no source


class Window(BaseModel):
    start: int
    end: int


def test_a_parameter_default_is_coerced_like_a_passed_value(recorded) -> None:
    @flow
    def pipeline(window: Window = {"start": 1, "end": "2"}, days: int = "3") -> tuple[Window, int]:  # type: ignore[assignment]  # noqa: B006
        return window, days

    assert pipeline() == (Window(start=1, end=2), 3)
    assert recorded.flow_runs()[0].parameters["days"] == 3

    @flow
    def refused(days: int = "many") -> None:  # type: ignore[assignment]
        pass

    with pytest.raises(ParameterTypeError, match=r"parameter 'days'"):
        refused()


def test_a_flow_name_must_be_a_string() -> None:
    def get_name() -> str:
        return "x"

    with pytest.raises(
        TypeError, match=r"Expected string for flow parameter 'name'; got function.*call it"
    ):
        flow(name=get_name)(_noop)


def test_method_kind_is_readable_as_in_prefect() -> None:
    assert Scaler(1).scale.ismethod and not Scaler.scale.ismethod
    assert Scaler.named.isclassmethod and Scaler.double.isstaticmethod
    assert not Scaler.double.isclassmethod and not Scaler.named.ismethod


def test_with_options_on_a_bound_flow_keeps_the_binding(recorded) -> None:
    assert Scaler(2).run.with_options(name="scaled")(1) == 4
    assert Scaler.named.with_options(retries=1)(3) == "Scaler:3"
    assert Scaler.double.with_options(name="twice")(4) == 8
    assert recorded.flow_runs()[0].flow_name == "scaled"
