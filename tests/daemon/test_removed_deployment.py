"""A deployment taken out of flows.toml: its runs that have not started end Cancelled, with why.

Its future schedule slots are withdrawn (they were only plans); a run of it that
is already running is never touched. What is left are runs that can never start
while the deployment is gone, and used to wait for it for good: a retry due
later, a run asked for by hand that waits for a concurrency slot. Prefect deletes
the never-run ones with their deployment; orc ends them, so the history says what
became of a run someone asked for, and a deployment put back later does not
start a forgotten retry by surprise.
"""

from __future__ import annotations

from typing import Any

from tests.daemon.conftest import Project, wait_for

FLOWS = """
    import time

    from orchestrate import flow


    @flow
    def boom() -> None:
        raise RuntimeError("boom")


    @flow
    def nap(seconds: float = 60.0) -> None:
        time.sleep(seconds)
"""

BOTH = """
    [project]
    name = "p"

    [[deployments]]
    name = "boom"
    entrypoint = "flows.py:boom"
    retries = 2
    retry_delay_seconds = 600

    [[deployments]]
    name = "nap"
    entrypoint = "flows.py:nap"
    concurrency_limit = 1
"""

NONE_LEFT = """
    [project]
    name = "p"
"""

GONE = "is no longer in flows.toml"


def _run(project: Project, run_id: str) -> Any:
    with project.client() as client:
        return client.run(run_id).run


def _state(project: Project, run_id: str) -> tuple[str, str]:
    run = _run(project, run_id)
    return run.state.type, run.state.name


def _started(project: Project, *args: str) -> str:
    answer = project.orc("run", *args)
    assert answer.returncode == 0, answer.stdout + answer.stderr
    return answer.stdout.split()[1]


def _awaiting_retry(project: Project) -> str:
    """`orc up` on both deployments, and a run of `boom` that failed and awaits its retry."""
    project.write("flows.py", FLOWS)
    project.write("flows.toml", BOTH)
    project.up()
    failed = _started(project, "boom")
    wait_for(lambda: _state(project, failed)[1] == "AwaitingRetry", 30, "boom awaiting its retry")
    return failed


def test_removing_a_deployment_cancels_its_retry_and_queued_runs_and_leaves_a_running_one(
    project: Project,
) -> None:
    failed = _awaiting_retry(project)
    running = _started(project, "nap")
    wait_for(lambda: _state(project, running)[0] == "RUNNING", 30, "the nap running")
    queued = _started(project, "nap")
    wait_for(lambda: _state(project, queued)[1] == "AwaitingConcurrencySlot", 30, "a queued nap")

    project.write("flows.toml", NONE_LEFT)
    for run_id in (failed, queued):
        wait_for(lambda r=run_id: _state(project, r)[0] == "CANCELLED", 30, f"{run_id} cancelled")
        message = _run(project, run_id).state.message or ""
        assert GONE in message and ("'boom'" in message or "'nap'" in message), message
    assert _state(project, running) == ("RUNNING", "Running")
    status = project.orc("status")
    assert "0 queued" in status.stdout, status.stdout
    assert project.orc("cancel", running).returncode == 0


def test_a_deployment_removed_while_orc_up_was_down_has_its_retry_cancelled_at_the_start(
    project: Project,
) -> None:
    failed = _awaiting_retry(project)
    assert project.stop() == 0
    project.write("flows.toml", NONE_LEFT)
    project.up()
    wait_for(lambda: _state(project, failed)[0] == "CANCELLED", 30, "the retry cancelled")
    assert GONE in (_run(project, failed).state.message or "")
    assert "0 queued" in project.orc("status").stdout


def test_a_blank_flows_toml_at_the_start_keeps_the_runs_waiting_for_its_next_save(
    project: Project,
) -> None:
    """A service restarted while flows.toml was caught half-way through a save (emptied, not
    yet written) must not cancel every run waiting: they wait for the next save, and end
    only if it no longer names their deployment."""
    failed = _awaiting_retry(project)
    assert project.stop() == 0
    project.write("flows.toml", "# being saved\n")
    project.up()
    assert "flows.toml is blank" in wait_for(
        lambda: "flows.toml is blank" in project.daemon_log() and project.daemon_log(),
        15,
        "the log",
    )
    assert _state(project, failed) == ("SCHEDULED", "AwaitingRetry")
    project.write("flows.toml", NONE_LEFT)
    wait_for(lambda: _state(project, failed)[0] == "CANCELLED", 30, "the retry cancelled")
