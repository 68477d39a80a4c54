"""Task retries: attempts recorded, delays (fixed, list, callable, jitter), conditions."""

from __future__ import annotations

import itertools
import random
import time
from types import SimpleNamespace

import pytest

from orchestrate import flow, task
from orchestrate.engine.retries import clamped_poisson_interval, retry_delays
from orchestrate.tasks import exponential_backoff


def flaky_task(failures: int, **options):  # type: ignore[no-untyped-def]
    attempts: list[float] = []

    @task(**options)
    def flaky() -> str:
        attempts.append(time.monotonic())
        if len(attempts) <= failures:
            raise ConnectionError(f"attempt {len(attempts)} failed")
        return "done"

    return flaky, attempts


def test_a_task_failing_twice_with_two_retries_completes_after_three_attempts(recorded) -> None:
    flaky, attempts = flaky_task(2, retries=2)

    @flow
    def pipeline() -> str:
        return flaky()

    assert pipeline() == "done"
    run = recorded.task_run("flaky-0")
    assert run.state.name == "Completed" and run.run_count == 3 and len(attempts) == 3
    assert recorded.history(run.id) == [
        "Pending", "Running", "AwaitingRetry", "Retrying", "AwaitingRetry", "Retrying", "Completed",
    ]  # fmt: skip


def test_a_task_out_of_retries_fails_the_flow_with_its_exception_and_traceback(recorded) -> None:
    flaky, _ = flaky_task(2, retries=1)

    @flow
    def pipeline() -> str:
        return flaky()

    state = pipeline(return_state=True)
    assert state.is_failed()
    with pytest.raises(ConnectionError, match="attempt 2 failed"):
        state.result()
    run = recorded.task_run("flaky-0")
    assert run.state.name == "Failed" and run.run_count == 2
    assert "ConnectionError: attempt 2 failed" in run.state.traceback
    assert "in flaky" in run.state.traceback  # starts at the user's code
    assert "orchestrate/engine" not in run.state.traceback


def test_retry_delays_are_waited(recorded) -> None:
    flaky, attempts = flaky_task(2, retries=2, retry_delay_seconds=[0.05, 0.15])

    @flow
    def pipeline() -> str:
        return flaky()

    pipeline()
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.15


def test_retry_condition_fn_can_stop_retries(recorded) -> None:
    seen = []

    def only_connection_errors(task, task_run, state) -> bool:  # type: ignore[no-untyped-def]
        seen.append((task.name, task_run.name, state.is_failed()))
        return isinstance(state.exception, ConnectionError)

    @task(retries=5, retry_condition_fn=only_connection_errors)
    def broken() -> None:
        raise KeyError("not transient")

    @flow
    def pipeline() -> None:
        broken()

    assert pipeline(return_state=True).is_failed()
    assert recorded.task_run("broken-0").run_count == 1
    assert seen == [("broken", "broken-0", True)]


@pytest.mark.parametrize(
    ("delay", "retries", "expected"),
    [
        (None, 3, [0.0, 0.0, 0.0]),
        (2, 3, [2.0, 2.0, 2.0]),
        ([1, 5], 4, [1.0, 5.0, 5.0, 5.0]),
        ([1, 5, 9], 2, [1.0, 5.0]),
        (exponential_backoff(10), 4, [10.0, 20.0, 40.0, 80.0]),
        (lambda n: [n] * n, 2, [2.0, 2.0]),
        (3, 0, []),
    ],
)
def test_retry_delay_forms(delay, retries, expected) -> None:  # type: ignore[no-untyped-def]
    assert retry_delays(delay, retries) == expected


def test_jitter_stays_within_its_clamp_keeps_its_mean_and_spreads() -> None:
    rng = random.Random(7)
    draws = [clamped_poisson_interval(10, 0.3, rng) for _ in range(5000)]
    assert min(draws) >= 0.0 and max(draws) <= 13.0 + 1e-9
    assert 9.5 <= sum(draws) / len(draws) <= 10.5  # the configured delay, on average
    assert max(draws.count(d) for d in draws[:50]) == 1  # a spread, not piled up at a bound
    assert clamped_poisson_interval(0, 0.5) == 0.0


def test_negative_jitter_is_refused() -> None:
    with pytest.raises(ValueError, match="retry_jitter_factor"):
        clamped_poisson_interval(5, -1)


def test_jitter_applies_to_a_real_retry(recorded, monkeypatch) -> None:
    waits: list[float] = []
    # Only the engine's view of `time` changes: other threads keep the real sleep.
    monkeypatch.setattr("orchestrate.engine.steps.time", SimpleNamespace(sleep=waits.append))
    flaky, _ = flaky_task(1, retries=1, retry_delay_seconds=100, retry_jitter_factor=0.1)

    @flow
    def pipeline() -> str:
        return flaky()

    pipeline()
    assert len(waits) == 1 and 0 <= waits[0] <= 110 + 1e-9 and waits[0] != 100
