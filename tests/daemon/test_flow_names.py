"""A run's flow name is the same scheduled as run: the flow's own name, as `@flow` gives it.

The daemon plans runs without importing the flow's module, and used to name them after
the function (`say_hello`), while the worker recorded the flow's name (`say-hello`, or the
`name=` given to `@flow`): one flow listed under two names, `--flow say-hello` missing
its upcoming runs, and `GROUP BY flow_name` splitting it in two.
"""

from __future__ import annotations

import json

from tests.daemon.conftest import Project, wait_for

FLOWS = """
    from orchestrate import flow


    @flow
    def say_hello() -> None:
        print("hello")


    @flow(name="Nightly ETL", retries=0)
    def nightly_etl() -> None:
        print("etl")
"""

CONFIG = """
    [[deployments]]
    name = "hello"
    entrypoint = "flows.py:say_hello"
    schedules = [{ interval = "1h" }]

    [[deployments]]
    name = "etl"
    entrypoint = "flows.py:nightly_etl"
    schedules = [{ interval = "1h" }]
"""


def test_planned_runs_carry_the_name_the_flow_records(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write("flows.toml", CONFIG)
    project.up()

    def planned() -> dict[str, str]:
        with project.client() as client:
            runs = client.runs(limit=50, scheduled=True)
        return {r.deployment: r.flow_name for r in runs}

    names = wait_for(lambda: len(planned()) == 2 and planned(), 20, "both deployments planned")
    assert names == {"hello": "say-hello", "etl": "Nightly ETL"}
    for deployment in ("hello", "etl"):
        run_id = project.orc("run", deployment, "--watch").stdout.split()[1]
        with project.client() as client:
            assert client.run(run_id).run.flow_name == names[deployment]


NAMED_FLOW = """
    import datetime
    import pathlib

    from orchestrate import flow
    from orchestrate.runtime import flow_run


    @flow(flow_run_name="report-{day:%Y%m%d}")
    def report(day: datetime.date) -> str:
        marker = pathlib.Path(__file__).with_name("attempted")
        if not marker.exists():
            marker.write_text("once")
            raise RuntimeError("the first attempt fails")
        return flow_run.name
"""

NAMED_CONFIG = """
    [[deployments]]
    name = "report"
    entrypoint = "flows.py:report"
    parameters = { day = "2024-01-01" }
    retries = 1
    retry_delay_seconds = 0
"""


def test_a_deployment_run_takes_its_flow_run_name_and_keeps_it_when_retried(
    project: Project,
) -> None:
    """As Prefect renames deployment runs just before Running, from the validated parameters."""
    project.write("flows.py", NAMED_FLOW)
    project.write("flows.toml", NAMED_CONFIG)
    project.up()
    watched = project.orc("run", "report", "--watch")
    assert watched.returncode == 0, watched.stdout + watched.stderr
    listed = json.loads(project.orc("runs", "ls", "--json").stdout)
    assert [(r["name"], r["state_name"]) for r in listed] == [("report-20240101", "Completed")]
    with project.client() as client:
        run = client.run(listed[0]["id"]).run
    assert run.name == "report-20240101" and run.run_count == 2
    project.stop()
    stored = json.loads(project.orc("runs", "ls", "--json").stdout)  # the store, read directly
    assert [r["name"] for r in stored] == ["report-20240101"]
