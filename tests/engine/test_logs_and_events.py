"""Run logs (get_run_logger, log_prints) kept with their run, and events emitted from runs."""

from __future__ import annotations

import logging

import pytest

from orchestrate import emit_event, flow, get_run_logger, task
from orchestrate.logging import MissingContextError


def test_run_logger_lines_carry_time_level_and_run_ids(recorded) -> None:
    @task
    def work() -> None:
        get_run_logger().warning("careful with %s", "rows")

    @flow
    def pipeline() -> None:
        get_run_logger().info("starting")
        work()

    pipeline()
    flow_id = recorded.flow_runs()[0].id
    task_id = recorded.task_run("work-0").id
    lines = {
        (log.message, log.level, log.task_run_id)
        for log in recorded.logs()
        if log.flow_run_id == flow_id
    }
    assert ("starting", logging.INFO, None) in lines
    assert ("careful with rows", logging.WARNING, task_id) in lines
    assert all(log.ts > 0 for log in recorded.logs())


def test_log_prints_captures_print_in_flow_and_tasks(recorded, capsys) -> None:
    @task
    def shout() -> None:
        print("from the task")

    @flow(log_prints=True)
    def pipeline() -> None:
        print("from the flow", 42)
        shout()

    pipeline()
    messages = [log.message for log in recorded.logs()]
    assert "from the flow 42" in messages and "from the task" in messages
    assert "from the flow" not in capsys.readouterr().out


def test_print_outside_log_prints_runs_is_left_alone(recorded, capsys) -> None:
    @flow
    def quiet() -> None:
        print("plain output")

    quiet()
    assert "plain output" in capsys.readouterr().out
    assert all(log.message != "plain output" for log in recorded.logs())


def test_failures_keep_their_traceback_in_the_logs(recorded) -> None:
    @task
    def broken() -> None:
        raise ZeroDivisionError("division by zero in row 7")

    @flow
    def pipeline() -> None:
        broken()

    pipeline(return_state=True)
    errors = [log for log in recorded.logs() if log.level == logging.ERROR and log.task_run_id]
    assert errors and "ZeroDivisionError: division by zero in row 7" in errors[0].message
    assert "Traceback" in errors[0].message


def test_get_run_logger_outside_a_run_explains() -> None:
    with pytest.raises(MissingContextError, match="inside a @flow or @task"):
        get_run_logger()


def test_emit_event_relates_the_run(recorded) -> None:
    @flow
    def pipeline() -> None:
        emit_event(
            "shop.order.shipped",
            resource={"prefect.resource.id": "shop.order.42"},
            payload={"items": 3},
        )

    pipeline()
    (event,) = recorded.events()
    assert event.event == "shop.order.shipped" and event.payload == {"items": 3}
    assert event.resource == {
        "prefect.resource.id": "shop.order.42",
        "orc.resource.id": "shop.order.42",
    }
    assert event.related[0]["orc.resource.role"] == "flow-run"


def test_emit_event_needs_a_resource_id() -> None:
    with pytest.raises(ValueError, match=r"orc\.resource\.id"):
        emit_event("x.y", resource={"name": "nope"})
