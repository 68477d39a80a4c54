"""Transactions in deployed runs: a real `orc up`, real workers, driven through `orc`.

A keyed transaction's record must outlive the worker that wrote it (the next
run, in another process, skips the work), and a task run undone by its
transaction is an event anyone can list.
"""

from __future__ import annotations

import json

from tests.daemon.conftest import Project

FLOWS = """
    from pathlib import Path

    from orchestrate import flow, task
    from orchestrate.transactions import transaction


    @task
    def write(line: str) -> None:
        with open("written.txt", "a") as f:
            f.write(line + "\\n")


    @write.on_rollback
    def unwrite(txn) -> None:
        Path("written.txt").unlink()


    @task
    def check() -> None:
        raise ValueError("not enough data")


    @flow(log_prints=True)
    def once() -> str:
        with transaction(key="write-once") as txn:
            if txn.is_committed():
                print("already written, skipping")
                return "skipped"
            write("once")
        return "written"


    @flow
    def undone() -> None:
        with transaction():
            write("undone")
            check()
"""

CONFIG = """
    [[deployments]]
    name = "once"
    entrypoint = "flows.py:once"

    [[deployments]]
    name = "undone"
    entrypoint = "flows.py:undone"
"""


def test_a_keyed_transaction_skips_work_in_the_next_deployed_run(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write("flows.toml", CONFIG)
    project.up()
    first = project.orc("run", "once", "--watch")
    second = project.orc("run", "once", "--watch")
    assert first.returncode == 0 and second.returncode == 0, first.stdout + second.stdout
    assert (project.root / "written.txt").read_text() == "once\n"
    runs = project.runs(deployment="once")
    assert len(runs) == 2
    logs = [project.orc("logs", run.id, "--json").stdout for run in runs]
    assert sum("already written, skipping" in text for text in logs) == 1


def test_a_rolled_back_task_run_is_an_event_and_its_file_is_gone(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write("flows.toml", CONFIG)
    project.up()
    ran = project.orc("run", "undone", "--watch")
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert not (project.root / "written.txt").exists()
    listed = project.orc("events", "ls", "--name", "orc.task-run.RolledBack", "--json")
    assert listed.returncode == 0, listed.stderr
    (event,) = json.loads(listed.stdout)
    assert event["resource"]["orc.resource.name"] == "write-0"
