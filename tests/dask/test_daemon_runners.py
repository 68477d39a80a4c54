"""A deployment's `task_runner` from flows.toml, run by a real `orc up`: one test per runner type.

Each half (the flows.toml model, the worker's runner factory) had its own
tests; these run the whole way: `orc validate`, the daemon, a worker process,
the runner, and for Dask a scheduler and workers orc did not start.
"""

from __future__ import annotations

from tests.daemon.conftest import Project, wait_for
from tests.dask.conftest import needs_distributed
from tests.dask.external import ExternalCluster

needs_distributed()

FLOWS = """
    import threading

    from orchestrate import flow, get_run_logger, task


    @task
    def where(i: int) -> str:
        try:
            from distributed import get_worker

            return f"dask worker {get_worker().address}"
        except (ImportError, ValueError):  # not on a Dask worker
            return f"thread {threading.current_thread().name.split('_')[0]}"


    @flow
    def spread(n: int = 6) -> None:
        places = sorted(set(where.map(range(n)).result()))
        get_run_logger().info("ran on: %s", ", ".join(places))
"""


def _run(project: Project, task_runner: str) -> str:
    project.write("flows.py", FLOWS)
    project.write("flows.toml", f"""
        [[deployments]]
        name = "spread"
        entrypoint = "flows.py:spread"
        task_runner = {task_runner}
    """)  # fmt: skip
    check = project.orc("validate")
    assert check.returncode == 0, check.stdout + check.stderr
    project.up()
    result = project.orc("run", "spread", "--watch", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr + project.daemon_log()
    assert "[Completed]" in result.stdout
    return result.stdout


def test_a_thread_pool_deployment_runs_under_the_daemon(project: Project) -> None:
    out = _run(project, '{ type = "thread", max_workers = 2 }')
    assert "ran on: thread" in out and "dask worker" not in out


def test_a_dask_deployment_runs_on_a_running_cluster_under_the_daemon(
    project: Project, external_cluster: ExternalCluster
) -> None:
    address = external_cluster.address
    out = _run(project, f'{{ type = "dask", address = "{address}", keep_results_over = 0 }}')
    assert "ran on: dask worker tcp://127.0.0.1:" in out and "thread" not in out
    assert f"Task runs go to the Dask scheduler at {address}; Dask dashboard: http://" in out
    [run] = project.runs()
    shown = project.orc("runs", "show", run.id)  # read through the daemon
    assert "dask dashboard  http://127.0.0.1:" in shown.stdout, shown.stdout + shown.stderr


SLOW = """
    import time
    from pathlib import Path

    from orchestrate import flow, task, unmapped
    from orchestrate.runtime import task_run


    @task(retries=3)
    def step(i: int, folder: str) -> int:
        (Path(folder) / f"started-{i}-attempt-{task_run.run_count}").touch()
        if i >= 1:
            time.sleep(120)
        return i


    @flow
    def slow(folder: str) -> list[int]:
        return step.map(range(3), unmapped(folder)).result()
"""


def test_a_killed_scheduler_ends_the_deployments_run_crashed(
    project: Project, external_cluster: ExternalCluster
) -> None:
    address, marks = external_cluster.address, project.root / "marks"
    marks.mkdir()
    project.write("flows.py", SLOW)
    project.write("flows.toml", f"""
        [[deployments]]
        name = "slow"
        entrypoint = "flows.py:slow"
        task_runner = {{ type = "dask", address = "{address}" }}
    """)  # fmt: skip
    project.up()
    started = project.orc("run", "slow", "-p", f"folder={marks}")
    assert started.returncode == 0, started.stdout + started.stderr
    running = [marks / f"started-{i}-attempt-1" for i in range(3)]
    wait_for(lambda: all(p.exists() for p in running), 60, "every step to start")

    def quick_step_done() -> bool:  # its result reached the flow before the scheduler goes
        [run] = project.runs()
        with project.client() as client:
            return "Completed" in {t.state.name for t in client.run(run.id).task_runs}

    wait_for(quick_step_done, 60, "the quick step to be recorded Completed")
    external_cluster.kill_scheduler()

    [run] = wait_for(
        lambda: [
            r for r in project.runs() if r.state.type not in ("PENDING", "RUNNING", "SCHEDULED")
        ],
        30,
        "the run to end",
    )
    with project.client() as client:
        detail = client.run(run.id)
    assert detail.run.state.name == "Crashed"
    assert detail.run.state.message == f"The flow run lost the Dask scheduler at {address}."
    assert sorted(t.state.name for t in detail.task_runs) == ["Completed", "Crashed", "Crashed"]
    assert not list(marks.glob("*-attempt-2"))  # no retry storm


def test_a_dask_deployment_without_address_starts_a_cluster_for_its_run_under_the_daemon(
    project: Project,
) -> None:
    out = _run(project, '{ type = "dask", cluster_kwargs = { n_workers = 1 } }')
    assert "ran on: dask worker tcp://127.0.0.1:" in out and "thread" not in out
    assert "Task runs go to the LocalCluster started for this run at tcp://127.0.0.1:" in out
