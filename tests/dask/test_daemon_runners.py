"""A deployment's `task_runner` from flows.toml, run by a real `orc up`: one test per runner type.

Each half (the flows.toml model, the worker's runner factory) had its own
tests; these run the whole way: `orc validate`, the daemon, a worker process,
the runner, and for Dask a scheduler and workers orc did not start.
"""

from __future__ import annotations

from tests.daemon.conftest import Project
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
    assert f"Dask dashboard of the Dask scheduler at {address}" in out
