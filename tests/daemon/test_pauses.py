"""Human in the loop on a real `orc up`: `pause_flow_run`, `suspend_flow_run`, `orc runs resume`.

As in Prefect 3: a paused run waits in its worker and goes on with the input it is
resumed with; a suspended run ends its worker and runs again from the top, where the
suspend returns the input; input that does not fit the model is refused; a run not
resumed in time ends Failed. Flow bodies write `marks.txt` lines so executions are
counted from outside the store.
"""

from __future__ import annotations

import json
import signal
from uuid import UUID

import pytest

from orchestrate.core.errors import ClientError
from orchestrate.exceptions import NotPausedError
from orchestrate.flow_runs import resume_flow_run
from tests.daemon.conftest import Project, wait_for

FLOWS = """
    from pydantic import BaseModel

    from orchestrate import flow, task
    from orchestrate.flow_runs import pause_flow_run, suspend_flow_run
    from orchestrate.runtime import flow_run


    def mark(*words):
        with open("marks.txt", "a") as f:
            f.write(" ".join(str(w) for w in words) + "\\n")


    class Approval(BaseModel):
        approved: bool
        note: str = ""


    @task
    def prepare() -> int:
        mark("prepared", flow_run.run_count)
        return 7


    @flow
    def approve(timeout: int = 600) -> str:
        n = prepare()
        answer = pause_flow_run(wait_for_input=Approval, timeout=timeout)
        mark("resumed", answer.approved, answer.note or "-")
        return f"{n} {answer.approved}"


    @flow
    def hold(timeout: int = 600) -> None:
        pause_flow_run(timeout=timeout)
        mark("went-on")


    @flow
    async def hold_async(timeout: int = 600) -> None:
        await pause_flow_run(timeout=timeout)
        mark("went-on")


    @flow
    def suspends(timeout: int = 600) -> int:
        prepare()
        n = suspend_flow_run(wait_for_input=int, timeout=timeout)
        mark("resumed", n)
        return n


    @flow
    def suspends_then_flaky() -> None:
        suspend_flow_run(timeout=600)
        if flow_run.run_count == 2:  # the first attempt after the resume fails
            raise RuntimeError("flaky")
        mark("done", flow_run.run_count)
"""

CONFIG = """
[project]
name = "pauses"

[[deployments]]
name = "approve"
entrypoint = "flows.py:approve"

[[deployments]]
name = "hold"
entrypoint = "flows.py:hold"

[[deployments]]
name = "hold-async"
entrypoint = "flows.py:hold_async"

[[deployments]]
name = "suspends"
entrypoint = "flows.py:suspends"
concurrency_limit = 1

[[deployments]]
name = "suspends-then-flaky"
entrypoint = "flows.py:suspends_then_flaky"
retries = 1
"""


def _deploy(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write("flows.toml", CONFIG)


def _marks(project: Project) -> list[str]:
    path = project.root / "marks.txt"
    return path.read_text().splitlines() if path.exists() else []


def _start(project: Project, deployment: str, *params: str) -> str:
    args = [a for p in params for a in ("-p", p)]
    started = project.orc("run", deployment, *args, "--json")
    assert started.returncode == 0, started.stdout + started.stderr
    return str(json.loads(started.stdout)["id"])


def _state(project: Project, run_id: str) -> tuple[str, str, str | None]:
    with project.client() as client:
        run = client.run(run_id).run
    return run.state.type, run.state.name, run.state.message


def _in_state(project: Project, run_id: str, name: str, timeout: float = 30) -> None:
    wait_for(lambda: _state(project, run_id)[1] == name, timeout, f"run {run_id} to be {name}")


def test_a_paused_run_goes_on_in_its_worker_with_the_input_it_is_resumed_with(
    project: Project,
) -> None:
    _deploy(project)
    project.up()
    run_id = _start(project, "approve")
    _in_state(project, run_id, "Paused")
    listed = project.orc("runs", "ls", "--state", "Paused", "--json")
    assert run_id in listed.stdout, listed.stdout + listed.stderr
    resumed = project.orc("runs", "resume", run_id[:8], "-i", "approved=true", "-i", "note=ok")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"Resumed {run_id}" in resumed.stdout and "goes on in its worker" in resumed.stdout
    _in_state(project, run_id, "Completed")
    assert _marks(project) == [
        "prepared 1",
        "resumed True ok",
    ]  # the body ran once, on from the pause
    with project.client() as client:
        detail = client.run(run_id)
    names = [s.name for s in detail.state_history]
    assert names[-3:] == ["Paused", "Running", "Completed"], names
    assert detail.run.run_count == 1


def test_input_that_does_not_fit_the_model_is_refused_and_the_run_stays_paused(
    project: Project,
) -> None:
    _deploy(project)
    project.up()
    run_id = _start(project, "approve")
    _in_state(project, run_id, "Paused")
    refused = project.orc("runs", "resume", run_id, "--input", '{"approved": "perhaps"}')
    assert refused.returncode != 0
    said = refused.stdout + refused.stderr
    assert "'approved' must be a boolean" in said and "Approval" in said, said
    missing = project.orc("runs", "resume", run_id)
    assert missing.returncode != 0
    assert "lacks the required field 'approved'" in missing.stdout + missing.stderr
    bad_json = project.orc("runs", "resume", run_id, "--input", "{not json")
    assert bad_json.returncode != 0 and "--input is not valid JSON" in bad_json.stderr
    assert _state(project, run_id)[1] == "Paused"
    ok = project.orc("runs", "resume", run_id, "--input", '{"approved": false}', "--json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads(ok.stdout)["id"] == run_id
    _in_state(project, run_id, "Completed")
    assert _marks(project)[-1] == "resumed False -"


def test_resume_flow_run_from_python_and_a_run_that_is_not_paused_says_so(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    _deploy(project)
    project.up()
    monkeypatch.setenv("ORC_HOME", str(project.root))
    run_id = _start(project, "hold")
    _in_state(project, run_id, "Paused")
    resume_flow_run(UUID(run_id))  # Prefect's call, through the project's daemon
    _in_state(project, run_id, "Completed")
    with pytest.raises(NotPausedError, match="not paused"):
        resume_flow_run(run_id)
    again = project.orc("runs", "resume", run_id)
    assert again.returncode != 0
    assert "not paused; only a paused run can be resumed" in again.stdout + again.stderr
    assert _marks(project) == ["went-on"]


def test_a_run_not_resumed_within_its_timeout_ends_failed(project: Project) -> None:
    _deploy(project)
    project.up()
    run_id = _start(project, "hold", "timeout=1")
    _in_state(project, run_id, "Failed")
    message = _state(project, run_id)[2] or ""
    assert "paused and never resumed" in message, message
    assert _marks(project) == []


def test_a_suspended_run_frees_its_slot_and_reruns_from_the_top_with_its_input(
    project: Project,
) -> None:
    _deploy(project)
    project.up()
    run_id = _start(project, "suspends")
    _in_state(project, run_id, "Suspended")
    with project.client() as client:  # the worker is gone: the deployment's one slot is free
        wait_for(lambda: not client.status().running, 20, "the suspended run's worker to end")
    refused = project.orc("runs", "resume", run_id, "-i", "value=many")
    assert refused.returncode != 0 and "'value' must be an integer" in refused.stderr
    resumed = project.orc("runs", "resume", run_id, "-p", "value=5")  # -p as for orc run
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "runs again from the top" in resumed.stdout
    _in_state(project, run_id, "Completed")
    assert _marks(project) == ["prepared 1", "prepared 2", "resumed 5"]
    with project.client() as client:
        detail = client.run(run_id)
    names = [s.name for s in detail.state_history]
    assert names.count("Suspended") == 1 and "Retrying" not in names, names
    assert names[names.index("Resuming") :] == [
        "Resuming",
        "Pending",  # the daemon's, as it dispatched the attempt; the worker goes on from it
        "Running",
        "Completed",
    ]
    assert detail.run.run_count == 2


def test_a_resume_does_not_spend_the_deployments_retries(project: Project) -> None:
    """retries = 1 still allows one retry after a suspended run was resumed once."""
    _deploy(project)
    project.up()
    run_id = _start(project, "suspends-then-flaky")
    _in_state(project, run_id, "Suspended")
    assert project.orc("runs", "resume", run_id).returncode == 0
    _in_state(project, run_id, "Completed")
    assert _marks(project) == ["done 3"]
    with project.client() as client:
        names = [s.name for s in client.run(run_id).state_history]
    assert names.count("AwaitingRetry") == 1, names


def test_a_suspended_run_not_resumed_in_time_is_failed_by_the_daemon(project: Project) -> None:
    _deploy(project)
    project.up()
    run_id = _start(project, "suspends", "timeout=1")
    _in_state(project, run_id, "Failed")
    assert "suspended and never resumed" in (_state(project, run_id)[2] or "")
    assert _marks(project) == ["prepared 1"]


def test_a_suspended_run_outlives_a_kill_of_the_daemon_and_runs_once_when_resumed(
    project: Project,
) -> None:
    _deploy(project)
    daemon = project.up()
    run_id = _start(project, "suspends")
    _in_state(project, run_id, "Suspended")
    project.stop(daemon, signal.SIGKILL)
    project.up()
    assert _state(project, run_id)[1] == "Suspended"  # not Crashed by recovery
    assert project.orc("runs", "resume", run_id, "-i", "value=3").returncode == 0
    _in_state(project, run_id, "Completed")
    assert _marks(project) == ["prepared 1", "prepared 2", "resumed 3"]


def test_a_paused_runs_timeout_holds_across_a_kill_of_the_daemon(project: Project) -> None:
    _deploy(project)
    daemon = project.up()
    run_id = _start(project, "hold", "timeout=3")
    _in_state(project, run_id, "Paused")
    project.stop(daemon, signal.SIGKILL)  # its worker sees the daemon go and stops
    project.up()
    _in_state(project, run_id, "Failed", timeout=30)
    assert "paused and never resumed" in (_state(project, run_id)[2] or "")
    assert _marks(project) == []


@pytest.mark.parametrize("stop", ["orc down", "kill -9"])
def test_a_paused_run_outlives_orc_up_stopping_and_runs_again_when_resumed(
    project: Project, stop: str
) -> None:
    _deploy(project)
    daemon = project.up()
    run_id = _start(project, "hold")
    _in_state(project, run_id, "Paused")
    if stop == "orc down":
        down = project.orc("down")
        assert down.returncode == 0, down.stdout + down.stderr
        project.stop(daemon)
    else:
        project.stop(daemon, signal.SIGKILL)  # its worker sees the daemon go and stops
    project.up()
    assert _state(project, run_id)[1] == "Paused"  # not Crashed
    assert project.orc("runs", "resume", run_id).returncode == 0
    _in_state(project, run_id, "Completed")
    assert _marks(project) == ["went-on"]


def test_an_async_paused_run_goes_on_when_resumed_and_cancels_at_once(project: Project) -> None:
    _deploy(project)
    project.up()
    first, second = _start(project, "hold-async"), _start(project, "hold-async")
    _in_state(project, first, "Paused")
    _in_state(project, second, "Paused")
    assert project.orc("runs", "resume", first).returncode == 0
    _in_state(project, first, "Completed")
    cancelled = project.orc("cancel", second, "--wait")
    assert cancelled.returncode == 0, cancelled.stdout + cancelled.stderr
    assert _state(project, second)[1] == "Cancelled"
    assert _marks(project) == ["went-on"]


def test_a_paused_run_tells_what_it_waits_for_and_a_running_one_refuses(
    project: Project,
) -> None:
    """`runs.pause`: the input's schema a form asks for; Prefect keeps it as the run's input."""
    _deploy(project)
    project.up()
    run_id = _start(project, "approve")
    _in_state(project, run_id, "Paused")
    with project.client() as client:
        pause = client.run_pause(run_id[:8])
        assert pause.input_schema is not None and pause.input_schema["title"] == "Approval"
        assert pause.input_schema["required"] == ["approved"]
        assert not pause.suspended and pause.expires is not None
        client.resume_run(run_id, {"approved": True})
    _in_state(project, run_id, "Completed")
    with project.client() as client, pytest.raises(ClientError, match="not paused"):
        client.run_pause(run_id)
