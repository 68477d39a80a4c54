"""A retry dispatched before the store had its AwaitingRetry is counted, even across a kill.

With `retry_delay_seconds = 0` the next attempt is dispatched (its journal
created) within a flush of the retry decision, so a `kill -9` of orc up can
leave the store at the failed attempt while the next attempt's journal
exists. The next orc up took the stored Failed state for the latest word and
dropped that journal: the run stayed Failed at the earlier attempt, its end
was never told, and the dispatched attempt was never counted.

Each test writes the store and the journals such a kill leaves (the same
writer and journal functions orc uses) and starts a real `orc up`.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from orchestrate.core.project import store_path
from orchestrate.core.record_codec import encode_records
from orchestrate.core.records import FlowRunRecord, Record, StateRecord
from orchestrate.recording import journal
from orchestrate.states import AwaitingRetry, Completed, Failed, Pending, Running, Scheduled
from orchestrate.store import StoreWriter
from tests.daemon.conftest import Project, wait_for

pytestmark = pytest.mark.timeout(120)

FLOW = '''
    from orchestrate import flow
    from orchestrate.runtime import flow_run


    @flow
    def f() -> None:
        """Mark each attempt that runs its body."""
        with open("marks.txt", "a") as marks:
            marks.write(f"{flow_run.run_count}\\n")
'''
CONFIG = (
    '[[deployments]]\nname = "d"\nentrypoint = "flows.py:f"\n'
    "retries = {retries}\nretry_delay_seconds = 0\n"
)


def _line(*records: Record) -> bytes:
    body = json.dumps(encode_records(list(records)), default=str)
    return b'{"jsonrpc":"2.0","method":"records","params":{"records":' + body.encode() + b"}}\n"


def _moved(run: FlowRunRecord, state: Any) -> list[Record]:
    """`run` entering `state`: its history row and a snapshot (a copy: the run moves on)."""
    run.state = state
    return [StateRecord(run.id, run.id, False, state), replace(run)]


def _journal(folder: Path, run: FlowRunRecord, lines: list[list[Record]], code: int | None) -> None:
    """The journal of `run`'s attempt as dispatched, with what its worker wrote."""
    path = journal.journal_path(folder, run.id, run.run_count)
    journal.create(path, run)
    writer = journal.JournalWriter(str(path))
    for records in lines:
        writer.write(_line(*records))
    if code is not None:
        writer.exit(code)
    writer.close()


def _killed_after_the_retry_was_dispatched(
    project: Project,
    retries: int,
    second: list[list[Record]] | None = None,
    code: int | None = None,
) -> str:
    """Attempt 1 stored Failed (its journal not retired yet), then its retry dispatched as
    attempt 2 (journal created, maybe written to, by `second`), and orc up killed before
    the store had the AwaitingRetry. The run's id."""
    project.write("flows.py", FLOW)
    project.write("flows.toml", CONFIG.format(retries=retries))
    folder = project.root / ".orc" / "runs"
    folder.mkdir(parents=True)
    now = time.time()
    run = FlowRunRecord(id="r1", name="calm-heron", flow_name="f", parameters={},
                        state=Scheduled(timestamp=now - 3), created=now - 3, deployment="d",
                        entrypoint="flows.py:f", expected_start_time=now - 3, run_count=1)  # fmt: skip
    dispatched = replace(run)
    first = [
        _moved(run, Pending(timestamp=now - 2.5)),
        _moved(run, Running(timestamp=now - 2)),
        _moved(run, Failed(message="boom", timestamp=now - 1.5)),
    ]
    writer = StoreWriter(store_path(project.root))
    for records in [_moved(replace(dispatched), dispatched.state), *first]:
        for record in records:
            writer.put(record)
    writer.close()
    _journal(folder, dispatched, first, code=1)
    run.state = AwaitingRetry(message=f"Retry 1 of {retries} in 0s after: boom", timestamp=now - 1)
    run.run_count = 2
    _journal(folder, run, second or [], code)
    return run.id


def _run(project: Project, run_id: str) -> Any:
    with project.client() as client:
        return client.run(run_id)


def _ended(project: Project, run_id: str, name: str, attempt: int) -> bool:
    run = _run(project, run_id).run
    return bool(run.settled) and (run.state.name, run.run_count) == (name, attempt)


def _told(project: Project, run_id: str) -> list[tuple[str, int]]:
    """Each final state event told of the run, with the attempt it tells of."""
    with project.client() as client:
        events = client.events(name="orc.flow-run.*", resource=f"orc.flow-run.{run_id}")
    final = ("orc.flow-run.Failed", "orc.flow-run.Crashed", "orc.flow-run.Completed")
    return sorted((e.event, int(e.payload["run_count"])) for e in events if e.event in final)


def _marks(project: Project) -> list[int]:
    marks = project.root / "marks.txt"
    return [int(line) for line in marks.read_text().split()] if marks.exists() else []


def test_the_dispatched_attempt_is_spent_and_the_run_retried_within_its_retries(
    project: Project,
) -> None:
    run_id = _killed_after_the_retry_was_dispatched(project, retries=2)
    project.up()
    wait_for(lambda: _ended(project, run_id, "Completed", 3), 30, "attempt 3 to complete")
    assert _marks(project) == [3]  # attempt 2 never started: spent, not run
    history = [s.name for s in _run(project, run_id).state_history]
    assert history.count("Crashed") == 1 and history.count("AwaitingRetry") == 2, history
    assert _told(project, run_id) == [("orc.flow-run.Completed", 3)]


def test_with_no_retry_left_the_dispatched_attempt_ends_the_run_told_once(
    project: Project,
) -> None:
    run_id = _killed_after_the_retry_was_dispatched(project, retries=1)
    journals = project.root / ".orc" / "runs"
    kept = project.root / "kept-journals"
    shutil.copytree(journals, kept)
    project.up()
    wait_for(lambda: _ended(project, run_id, "Crashed", 2), 30, "the run to settle")
    assert _told(project, run_id) == [("orc.flow-run.Crashed", 2)]
    project.stop()
    # As if that orc up had been killed before it removed the journals: nothing again.
    shutil.copytree(kept, journals, dirs_exist_ok=True)
    project.up()
    assert _ended(project, run_id, "Crashed", 2)
    assert _told(project, run_id) == [("orc.flow-run.Crashed", 2)]
    assert _marks(project) == []


def test_a_dispatched_attempt_whose_body_finished_is_kept_not_run_again(project: Project) -> None:
    now = time.time()
    second = FlowRunRecord(id="r1", name="calm-heron", flow_name="f", parameters={},
                           state=Scheduled(), created=now - 3, deployment="d",
                           entrypoint="flows.py:f", run_count=2)  # fmt: skip
    lines = [
        _moved(second, Pending(timestamp=now - 0.8)),
        _moved(second, Running(timestamp=now - 0.6)),
        _moved(second, Completed(timestamp=now - 0.4)),
    ]
    run_id = _killed_after_the_retry_was_dispatched(project, retries=2, second=lines, code=0)
    project.up()
    wait_for(lambda: _ended(project, run_id, "Completed", 2), 30, "the run to settle")
    assert _marks(project) == []
    assert _told(project, run_id) == [("orc.flow-run.Completed", 2)]
