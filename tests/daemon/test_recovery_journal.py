"""Recovery reads a killed daemon's journals before it decides anything.

Each test writes the journal a worker would have left (the same functions the
worker uses) into a real project, starts a real `orc up`, and reads the store
file after it stops.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import duckdb

from orchestrate.core.record_codec import encode_records
from orchestrate.core.records import FlowRunRecord, LogRecord, Record, StateRecord, TaskRunRecord
from orchestrate.recording import journal
from orchestrate.states import Completed, Pending, Running, Scheduled
from tests.daemon.conftest import Project

CONFIG = '[project]\nname = "rec"\n\n[[deployments]]\nname = "d"\nentrypoint = "flows.py:f"\nretries = {retries}\n'
FLOW = "from orchestrate import flow\n\n\n@flow\ndef f() -> None:\n    pass\n"


def _project(project: Project, retries: int = 0) -> Path:
    project.write("flows.py", FLOW)
    project.write("flows.toml", CONFIG.format(retries=retries))
    folder = project.root / ".orc" / "runs"
    folder.mkdir(parents=True)
    return folder


def _line(*records: Record) -> bytes:
    body = json.dumps(encode_records(list(records)), default=str)
    return b'{"jsonrpc":"2.0","method":"records","params":{"records":' + body.encode() + b"}}\n"


def _run(run_id: str = "f1") -> FlowRunRecord:
    return FlowRunRecord(id=run_id, name="calm-heron", flow_name="f", parameters={},
                         state=Scheduled(), created=time.time(), deployment="d",
                         entrypoint="flows.py:f", run_count=1)  # fmt: skip


def _rows(project: Project, sql: str, *params: object) -> list[tuple[object, ...]]:
    with duckdb.connect(str(project.root / ".orc" / "orc.duckdb"), read_only=True) as conn:
        return conn.execute(sql, list(params)).fetchall()


def test_a_body_that_finished_is_kept_and_the_tasks_it_left_open_are_ended(
    project: Project,
) -> None:
    folder = _project(project, retries=2)
    run = _run()
    path = journal.journal_path(folder, run.id, 1)
    journal.create(path, run)
    writer = journal.JournalWriter(str(path))
    run.state = Running()
    writer.write(_line(StateRecord(run.id, run.id, False, run.state), run))
    for i in range(3):  # started, and cut off before their ends were written
        task = TaskRunRecord(id=f"t{i}", flow_run_id=run.id, name=f"step-{i}", task_key="step",
                             dynamic_key=i, state=Running(), created=time.time(), run_count=1)  # fmt: skip
        writer.write(journal.started_line(task))
    writer.write(_line(LogRecord(run.id, None, time.time(), 20, "orc.flow_runs", "done")))
    run.state = Completed()
    writer.write(_line(StateRecord(run.id, run.id, False, run.state), run))
    writer.close()

    project.up()
    project.stop()
    assert _rows(project, "SELECT state_name, run_count FROM flow_runs") == [("Completed", 1)]
    tasks = _rows(project, "SELECT id, state_name FROM task_runs ORDER BY id")
    assert tasks == [("t0", "Crashed"), ("t1", "Crashed"), ("t2", "Crashed")]
    assert _rows(project, "SELECT message FROM logs WHERE message = 'done'") == [("done",)]
    assert not list(folder.iterdir())  # retired once stored


def test_an_attempt_dispatched_but_never_stored_is_spent_not_lost(project: Project) -> None:
    folder = _project(project, retries=0)
    run = _run()
    journal.create(
        journal.journal_path(folder, run.id, 1), run, ("d/0/1700000000", "0", 1_700_000_000.0)
    )

    project.up()
    project.stop()
    ((state, run_count, message),) = _rows(
        project, "SELECT state_name, run_count, state_message FROM flow_runs"
    )
    assert (state, run_count) == ("Crashed", 1) and "attempt 1" in str(message)
    assert _rows(project, "SELECT key, flow_run_id FROM schedule_slots") == [
        ("d/0/1700000000", "f1")
    ]


def test_a_journal_replayed_twice_adds_each_row_once(project: Project) -> None:
    folder = _project(project, retries=0)
    run = _run()
    path = journal.journal_path(folder, run.id, 1)
    journal.create(path, run)
    writer = journal.JournalWriter(str(path))
    run.state = Pending()
    writer.write(_line(StateRecord(run.id, run.id, False, run.state), run))
    run.state = Running()
    line = _line(StateRecord(run.id, run.id, False, run.state), run,
                 LogRecord(run.id, None, time.time(), 20, "orc.flow_runs", "working"))  # fmt: skip
    writer.write(line)
    writer.write(line)  # the same line twice, as a task start and its batch can be
    writer.close()
    kept = path.read_bytes()

    project.up()
    project.stop()
    path.write_bytes(kept)  # as if the last orc up died before it removed the journal
    project.up()
    project.stop()
    history = _rows(
        project, "SELECT state_name, ts FROM state_history WHERE run_id = 'f1' ORDER BY ts"
    )
    assert len(history) == len(set(history))
    assert [name for name, _ in history].count("Running") == 1
    assert _rows(project, "SELECT count(*) FROM logs WHERE message = 'working'") == [(1,)]


def test_an_older_attempts_journal_is_replayed_too_and_only_the_last_attempt_is_cut_off(
    project: Project,
) -> None:
    folder = _project(project, retries=1)
    run = _run()
    first = journal.journal_path(folder, run.id, 1)
    journal.create(first, run)
    writer = journal.JournalWriter(str(first))
    task = TaskRunRecord(id="t-old", flow_run_id=run.id, name="step-0", task_key="step",
                         dynamic_key=0, state=Running(), created=time.time(), run_count=1)  # fmt: skip
    writer.write(journal.started_line(task))
    writer.close()
    run.run_count = 2  # the retry was dispatched, then orc up was killed
    journal.create(journal.journal_path(folder, run.id, 2), run)

    project.up()
    project.stop()
    ((state, run_count),) = _rows(project, "SELECT state_name, run_count FROM flow_runs")
    assert (state, run_count) == ("Crashed", 2)  # retries = 1: two attempts spent, no third
    assert _rows(project, "SELECT id, state_name FROM task_runs") == [("t-old", "Crashed")]
    crashed = _rows(
        project, "SELECT count(*) FROM state_history WHERE run_id = 'f1' AND state_name = 'Crashed'"
    )
    assert crashed == [(1,)]


def test_a_run_cut_off_ends_when_it_was_last_heard_of_not_when_orc_up_came_back(
    project: Project,
) -> None:
    """A run killed with orc up and recovered an hour later was recorded as running for that
    hour: its end, and its open task runs' ends, were the restart's time."""
    folder = _project(project, retries=0)
    then = time.time() - 3600
    run = _run()
    path = journal.journal_path(folder, run.id, 1)
    journal.create(path, run)
    writer = journal.JournalWriter(str(path))
    run.state, run.start_time = Running(timestamp=then), then
    writer.write(_line(StateRecord(run.id, run.id, False, run.state), run))
    task = TaskRunRecord(id="t0", flow_run_id=run.id, name="step-0", task_key="step",
                         dynamic_key=0, state=Running(timestamp=then + 1), created=then + 1,
                         start_time=then + 1, run_count=1)  # fmt: skip
    writer.write(journal.started_line(task))
    writer.write(_line(LogRecord(run.id, None, then + 5, 20, "orc.flow_runs", "working")))
    writer.close()

    project.up()
    project.stop()
    ((state, ended),) = _rows(project, "SELECT state_name, epoch(end_time) FROM flow_runs")
    assert state == "Crashed" and abs(float(ended) - (then + 5)) < 0.01  # type: ignore[arg-type]
    ((task_ended,),) = _rows(project, "SELECT epoch(end_time) FROM task_runs")
    assert abs(float(task_ended) - (then + 5)) < 0.01  # type: ignore[arg-type]


def test_a_plain_python_run_left_running_is_not_blamed_on_orc_up(project: Project) -> None:
    """A flow run from `python flow.py` killed while orc up was down was recorded as
    "orc up stopped while this run was in progress", though orc up never ran it."""
    from orchestrate.core.project import store_path
    from orchestrate.store import StoreWriter

    _project(project)
    plain = FlowRunRecord(id="p1", name="lone-wolf", flow_name="f", parameters={},
                          state=Running(), created=time.time(), run_count=1)  # fmt: skip
    writer = StoreWriter(store_path(project.root))
    writer.put(plain)
    writer.close()

    project.up()
    project.stop()
    ((state, message),) = _rows(project, "SELECT state_name, state_message FROM flow_runs")
    assert state == "Crashed"
    assert str(message).startswith("The process that ran this flow run (attempt 1) ended")
