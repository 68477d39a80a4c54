"""A run's flow name is the same scheduled as run: the flow's own name, as `@flow` gives it.

The daemon plans runs without importing the flow's module, and used to name them after
the function (`say_hello`), while the worker recorded the flow's name (`say-hello`, or the
`name=` given to `@flow`): one flow listed under two names, `--flow say-hello` missing
its upcoming runs, and `GROUP BY flow_name` splitting it in two.
"""

from __future__ import annotations

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
