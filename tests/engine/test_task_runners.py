"""The thread pool behind `.submit()`: blocked task runs never hold up others, and bursts stay on few threads."""

from __future__ import annotations

import signal
import sys
import threading

from orchestrate import flow, get_run_logger, task
from orchestrate.context import FlowRunContext
from orchestrate.engine.thread_pool import ThreadPool
from orchestrate.exceptions import TerminationSignal
from orchestrate.task_runners import ThreadPoolTaskRunner

WAIT = 30  # seconds: every wait below ends on a condition long before this


@task
def thread_of(i: int) -> int:
    return threading.get_ident()


def test_a_burst_of_short_task_runs_runs_on_a_few_threads(recorded) -> None:
    @flow
    def burst() -> int:
        return len({f.result() for f in [thread_of.submit(i) for i in range(500)]})

    # A thread per task submitted while the others were busy (some twenty to thirty
    # here) is as many threads started, each a GIL hand-over, for work one thread can do.
    # How many a burst gets depends on how the machine shares its cores with the
    # submitter, so the fewest of three bursts is what is held to the bound.
    assert min(burst() for _ in range(3)) <= 15
    assert [r.state.name for r in recorded.task_runs()] == ["Completed"] * 1500


def test_task_runs_that_block_together_all_get_a_thread(recorded) -> None:
    meeting = threading.Barrier(25, timeout=WAIT)

    @task
    def meet(i: int) -> int:
        return meeting.wait()  # passes only once all 25 are running at the same time

    @flow
    def together() -> list[int]:
        return meet.map(range(25)).result()

    assert sorted(together()) == list(range(25))


def test_a_task_run_blocked_on_a_later_one_does_not_hold_it_up(recorded) -> None:
    ready = threading.Event()

    @task
    def wait_for_signal() -> bool:
        return ready.wait(WAIT)

    @task
    def signal() -> None:
        ready.set()

    @flow
    def pipeline() -> bool:
        waiting = wait_for_signal.submit()
        signal.submit()
        return waiting.result()

    assert pipeline() is True


def test_max_workers_caps_how_many_task_runs_run_at_once(recorded) -> None:
    lock = threading.Lock()
    running = [0]
    most = [0]
    pairs = threading.Barrier(2, timeout=WAIT)  # two at a time must meet: the cap is used

    @task
    def busy(i: int) -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        pairs.wait()
        with lock:
            running[0] -= 1
        return i

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=2))
    def capped() -> list[int]:
        return busy.map(range(30)).result()

    assert capped() == list(range(30))
    assert most[0] == 2


def test_the_threads_are_gone_once_the_flow_run_ends(recorded) -> None:
    @flow
    def burst() -> None:
        for future in [thread_of.submit(i) for i in range(50)]:
            future.result()

    burst()
    assert not [t for t in threading.enumerate() if t.name.startswith("orc-task")]


def test_a_job_that_raises_keeps_its_thread_for_the_next(monkeypatch) -> None:
    errors: list[BaseException] = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, value, tb: errors.append(value))
    pool = ThreadPool(max_workers=1)
    done = threading.Event()
    try:
        pool.submit(lambda: 1 / 0)
        pool.submit(done.set)
        assert done.wait(WAIT)
    finally:
        pool.shutdown()
    assert [type(e) for e in errors] == [ZeroDivisionError]


def test_cancel_all_ends_unfinished_task_runs_crashed_and_keeps_their_later_records_out(
    recorded,
) -> None:
    started, release, returned = threading.Event(), threading.Event(), threading.Event()

    @task
    def inner() -> None:
        started.set()
        release.wait(WAIT)

    @task(on_completion=[lambda *_: returned.set()])
    def blocked() -> int:
        inner()  # a task run of the same flow run, on the pool's thread
        get_run_logger().info("went on after the crash")
        return 1

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=1))
    def abandons() -> None:
        first = blocked.submit()
        thread_of.submit(0)  # queued behind it
        thread_of.submit(1, wait_for=[first])  # waiting for it
        assert started.wait(WAIT)
        runner = FlowRunContext.get().task_runner  # type: ignore[union-attr]
        runner.cancel_all(TerminationSignal(signal.SIGTERM))  # type: ignore[attr-defined]
        release.set()
        assert returned.wait(WAIT)  # blocked has returned and settled Completed, unrecorded

    abandons()
    reason = "Execution was aborted by a termination signal (SIGTERM)."
    for name in ["blocked-0", "inner-0", "thread_of-0", "thread_of-1"]:
        run = recorded.task_run(name)
        assert (run.state.name, run.state.message) == ("Crashed", reason), name
        assert recorded.history(run.id)[-1] == "Crashed", name
        assert "Completed" not in recorded.history(run.id), name
    assert not [r for r in recorded.logs() if "after the crash" in r.message]
