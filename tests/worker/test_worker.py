"""A worker runs one flow run with the daemon's ids and ships everything it records."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import date

from orchestrate.worker import exit_codes
from tests.test_architecture import PACKAGE, imports_of, inside
from tests.worker.conftest import FLOW_RUN_ID, Project

ETL = """
import os
from orchestrate import flow, task, get_run_logger

@task
def extract(n: int) -> list[int]:
    return list(range(n))

@task
def load(rows: list[int]) -> int:
    get_run_logger().info("loaded %d rows", len(rows))
    return len(rows)

@flow(log_prints=False)
def etl(n: int = 2) -> int:
    get_run_logger().info("token is %s", os.environ["API_TOKEN"][:3])
    print("plain print goes to stdout")
    return load(extract(n))

@flow
def broken():
    raise ValueError("bad row 7")
"""


async def test_a_completing_flow_streams_its_runs_states_edges_and_logs(project: Project) -> None:
    project.write("etl.py", ETL)
    exit_ = await project.run(
        "etl.py:etl", parameters={"n": "3"}, env={"API_TOKEN": "abc-secret"}, tags=["nightly"],
        run_count=1, expected_start_time=1_700_000_000.0,
    )  # fmt: skip
    rec = project.recorder
    assert exit_.returncode == 0 and exit_.final_state.name == "Completed"
    run = rec.flow_run()
    assert (run.name, run.flow_name, run.deployment, run.entrypoint) == (
        "test-run", "etl", "test-deployment", "etl.py:etl",
    )  # fmt: skip
    assert run.parameters == {"n": 3} and run.tags == ("nightly",) and run.run_count == 1
    assert run.expected_start_time == 1_700_000_000.0 and run.end_time is not None
    assert rec.history() == ["Pending", "Running", "Completed"]
    tasks = rec.task_runs()
    assert set(tasks) == {"extract-0", "load-0"}
    assert all(t.state.name == "Completed" and t.flow_run_id == FLOW_RUN_ID for t in tasks.values())
    assert all(t.tags == ("nightly",) for t in tasks.values())
    assert [(e.upstream_id, e.task_run_id, e.kind) for e in rec.edges()] == [
        (tasks["extract-0"].id, tasks["load-0"].id, "data")
    ]
    assert "token is abc" in rec.messages("orc.flow_runs")
    assert "loaded 3 rows" in rec.messages("orc.task_runs")
    assert rec.messages("stdout") == ["plain print goes to stdout"]
    assert not any("abc-secret" in m for m in rec.messages())


async def test_run_logs_are_not_echoed_on_stderr(project: Project) -> None:
    project.write("etl.py", ETL)
    await project.run("etl.py:etl", env={"API_TOKEN": "abc"})
    assert project.recorder.messages("stderr") == []


async def test_a_failing_flow_ends_failed_with_its_error_and_exit_code_1(project: Project) -> None:
    project.write("etl.py", ETL)
    exit_ = await project.run("etl.py:broken")
    state = project.recorder.flow_run().state
    assert exit_.returncode == 1 and not exit_.timed_out and not exit_.cancelled
    assert not exit_.needs_a_fix  # a failing body may be retried
    assert state.name == "Failed" and state.message == "ValueError: bad row 7"
    assert 'raise ValueError("bad row 7")' in (state.traceback or "")
    assert exit_.final_state.name == "Failed"


async def test_a_bad_parameter_fails_the_run_naming_the_parameter(project: Project) -> None:
    project.write("etl.py", ETL)
    exit_ = await project.run("etl.py:etl", parameters={"n": "many"})
    assert exit_.returncode == exit_codes.NEEDS_A_FIX and exit_.needs_a_fix  # no retry can fix it
    message = project.recorder.flow_run().state.message or ""
    assert project.recorder.flow_run().state.name == "Failed"
    assert "parameter 'n'" in message and "'many'" in message


async def test_an_unknown_parameter_fails_the_run_naming_it(project: Project) -> None:
    project.write("etl.py", ETL)
    exit_ = await project.run("etl.py:etl", parameters={"days": 3})
    assert exit_.returncode == exit_codes.NEEDS_A_FIX and exit_.needs_a_fix
    assert "'days'" in (project.recorder.flow_run().state.message or "")


async def test_a_syntax_error_fails_the_run_with_file_and_line(project: Project) -> None:
    project.write("etl.py", "from orchestrate import flow\n\n@flow\ndef etl(:\n    pass\n")
    exit_ = await project.run("etl.py:etl")
    run = project.recorder.flow_run()
    assert (
        exit_.returncode == exit_codes.NEEDS_A_FIX
        and exit_.needs_a_fix
        and run.state.name == "Failed"
    )
    assert "etl.py:4" in (run.state.message or "") and "SyntaxError" in (run.state.message or "")
    assert run.flow_name == "etl" and project.recorder.history() == ["Pending", "Failed"]
    assert any("etl.py:4" in m for m in project.recorder.messages("orc.worker"))


async def test_a_missing_file_or_function_fails_the_run_saying_what_to_fix(
    project: Project,
) -> None:
    project.write("etl.py", ETL)
    await project.run("nowhere.py:etl")
    assert "nowhere.py: no such file" in (project.recorder.flow_run().state.message or "")
    project.recorder.records.clear()
    await project.run("etl.py:missing")
    message = project.recorder.flow_run().state.message or ""
    assert "has no 'missing'" in message and "broken, etl" in message


async def test_prints_with_log_prints_become_run_logs_once(project: Project) -> None:
    project.write(
        "loud.py",
        """
        from orchestrate import flow

        @flow(log_prints=True)
        def loud():
            print("hello from the flow")
        """,
    )
    await project.run("loud.py:loud")
    messages = project.recorder.messages()
    assert messages.count("hello from the flow") == 1
    assert project.recorder.messages("stdout") == []


async def test_an_async_flow_runs_too(project: Project) -> None:
    project.write(
        "aio.py",
        """
        import asyncio
        from orchestrate import flow, task

        @task
        async def nap() -> str:
            await asyncio.sleep(0)
            return "rested"

        @flow
        async def aio() -> str:
            return await nap()
        """,
    )
    exit_ = await project.run("aio.py:aio")
    assert exit_.returncode == 0 and project.recorder.flow_run().state.name == "Completed"
    assert project.recorder.task_runs()["nap-0"].state.name == "Completed"


async def test_a_run_the_daemon_made_pending_is_not_made_pending_again(project: Project) -> None:
    """The daemon records Pending as it dispatches an attempt (`pending_recorded`): the
    worker goes on from there, so the run has one Pending per attempt, as under Prefect's
    workers, and each run one state row, event and push fewer."""
    project.write("etl.py", ETL)
    exit_ = await project.run("etl.py:etl", env={"API_TOKEN": "abc"}, pending_recorded=True)
    assert exit_.returncode == 0 and project.recorder.history() == ["Running", "Completed"]
    run = project.recorder.flow_run()
    assert (run.name, run.flow_name, run.state.name) == ("test-run", "etl", "Completed")


async def test_a_later_attempt_counts_itself_and_runs_as_retrying(project: Project) -> None:
    project.write("etl.py", ETL)
    await project.run("etl.py:etl", env={"API_TOKEN": "abc"}, run_count=2)
    assert project.recorder.flow_run().run_count == 2
    assert project.recorder.history() == ["Pending", "Retrying", "Completed"]


async def test_a_worker_loads_no_duckdb_textual_or_typer(project: Project) -> None:
    project.write(
        "modules.py",
        """
        import json, sys
        from orchestrate import flow

        @flow
        def modules(n: int = 1):
            print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
        """,
    )
    await project.run("modules.py:modules", parameters={"n": 2})
    loaded = set(json.loads(project.recorder.messages("stdout")[0]))
    assert "orchestrate" in loaded
    assert not loaded & {"duckdb", "textual", "typer", "rich"}


async def test_the_run_log_level_comes_from_the_spec(project: Project) -> None:
    project.write(
        "chatty.py",
        """
        from orchestrate import flow, get_run_logger

        @flow
        def chatty():
            get_run_logger().debug("fine detail")
        """,
    )
    await project.run("chatty.py:chatty", log_level="DEBUG")
    debug = [r for r in project.recorder.logs() if r.level == logging.DEBUG]
    assert [r.message for r in debug] == ["fine detail"]


async def test_a_missing_working_dir_fails_the_run_saying_so(project: Project) -> None:
    project.write("etl.py", ETL)
    exit_ = await project.run("etl.py:etl", working_dir="no/such/dir")
    message = project.recorder.flow_run().state.message or ""
    assert (
        exit_.returncode == exit_codes.NEEDS_A_FIX
        and "no/such/dir" in message
        and "working_dir" in message
    )


def test_the_worker_package_and_codec_import_no_daemon_store_or_cli() -> None:
    forbidden = (
        "orchestrate.daemon",
        "orchestrate.store",
        "orchestrate.cli",
        "tui",
        "duckdb",
        "textual",
        "typer",
    )
    for path in [
        *sorted((PACKAGE / "worker").glob("*.py")),
        PACKAGE / "recording" / "stream.py",
        PACKAGE / "recording" / "journal.py",
        PACKAGE / "core" / "record_codec.py",
    ]:
        bad = {name for name in imports_of(path) if inside(name, forbidden)}
        assert not bad, f"{path.name} imports {bad}"


async def test_a_toml_date_parameter_reaches_the_flow_as_a_date(project: Project) -> None:
    project.write(
        "daily.py",
        """
        from datetime import date
        from orchestrate import flow

        @flow
        def daily(day: date):
            print(repr(day))
        """,
    )
    await project.run("daily.py:daily", parameters={"day": date(2026, 3, 1)})
    assert project.recorder.messages("stdout") == ["datetime.date(2026, 3, 1)"]


def test_a_worker_started_by_hand_explains_how_it_is_meant_to_run() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "orchestrate.worker"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2 and "--fd N" in result.stderr


async def test_the_deployments_task_runner_setting_is_used_or_refused_clearly(
    project: Project,
) -> None:
    project.write("etl.py", ETL)
    exit_ = await project.run(
        "etl.py:etl", env={"API_TOKEN": "abc"}, task_runner={"type": "thread", "max_workers": 2}
    )
    assert exit_.final_state.name == "Completed"
    project.recorder.records.clear()
    exit_ = await project.run("etl.py:etl", task_runner={"type": "warp-drive"})
    assert exit_.returncode == exit_codes.NEEDS_A_FIX and exit_.final_state.name == "Failed"
    assert "warp-drive" in (project.recorder.flow_run().state.message or "")
