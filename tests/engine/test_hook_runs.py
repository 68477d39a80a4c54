"""How state hooks run, as Prefect 3 runs them: their log lines, their prints, on_cancellation."""

from __future__ import annotations

import logging

from orchestrate import flow, task
from orchestrate.states import Cancelling, StateType


def _lines(recorded, task_run_id=None):  # type: ignore[no-untyped-def]
    return [(log.level, log.message) for log in recorded.logs() if log.task_run_id == task_run_id]


def test_flow_hooks_are_announced_and_their_end_logged_as_prefect_writes_it(recorded) -> None:
    def good(flow_, run, state) -> None:  # type: ignore[no-untyped-def]
        pass

    @flow(on_running=[good], on_completion=[good])
    def pipeline() -> int:
        return 1

    pipeline()
    lines = _lines(recorded)
    for state in ("Running", "Completed"):
        announce = (logging.INFO, f"Running hook 'good' in response to entering state '{state}'")
        assert announce in lines
        assert lines[lines.index(announce) + 1] == (
            logging.INFO,
            "Hook 'good' finished running successfully",
        )


def test_task_hooks_log_on_the_task_run_and_a_failing_hook_is_not_called_successful(
    recorded,
) -> None:
    def broken(task_, run, state) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("hook bug")

    @task(on_failure=[broken])
    def boom() -> None:
        raise ValueError("no")

    @flow
    def pipeline() -> None:
        boom(return_state=True)

    pipeline()
    run = recorded.task_run("boom-0")
    messages = [m for _, m in _lines(recorded, run.id)]
    assert "Running hook 'broken' in response to entering state 'Failed'" in messages
    assert "An error was encountered while running hook 'broken'" in "\n".join(messages)
    assert "Hook 'broken' finished running successfully" not in messages


def test_a_print_in_a_hook_of_a_log_prints_flow_is_a_run_log_line(recorded, capsys) -> None:
    def shout(flow_, run, state) -> None:  # type: ignore[no-untyped-def]
        print(f"hook saw {state.name}")

    @flow(log_prints=True, on_completion=[shout])
    def pipeline() -> int:
        return 1

    pipeline()
    assert (logging.INFO, "hook saw Completed") in _lines(recorded)
    assert "hook saw Completed" not in capsys.readouterr().out


def test_on_cancellation_runs_when_the_flow_returns_a_cancelling_state(recorded) -> None:
    seen: list[str] = []

    @flow(on_cancellation=[lambda flow_, run, state: seen.append(state.name)])
    def pipeline():  # type: ignore[no-untyped-def]
        return Cancelling(message="stopping")

    state = pipeline(return_state=True)
    assert state.type is StateType.CANCELLING
    assert seen == ["Cancelling"]
