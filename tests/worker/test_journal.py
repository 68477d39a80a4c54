"""The worker's journal: everything a run records is on disk before anyone hears of it."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pytest

from orchestrate.core.records import FlowRunRecord, LogRecord, TaskRunRecord
from orchestrate.recording import journal
from orchestrate.recording.stream import StreamSink
from orchestrate.states import Completed, Pending, Running


def _run(run_count: int = 1) -> FlowRunRecord:
    return FlowRunRecord(id="f1", name="brave-otter", flow_name="etl", parameters={"n": 1},
                         state=Pending(), created=time.time(), deployment="etl", run_count=run_count)  # fmt: skip


def _task(name: str = "step-0") -> TaskRunRecord:
    return TaskRunRecord(id=f"t-{name}", flow_run_id="f1", name=name, task_key="step",
                         dynamic_key=0, state=Running(), created=time.time(), run_count=1)  # fmt: skip


class BrokenStream(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_the_header_names_the_run_the_attempt_and_the_slot(tmp_path: Path) -> None:
    path = journal.journal_path(tmp_path, "f1", 2)
    journal.create(path, _run(run_count=2), ("etl/0/1700000000", "0", 1_700_000_000.0))
    found = journal.read(path)
    assert found is not None and (found.flow_run_id, found.attempt) == ("f1", 2)
    assert (
        found.run is not None and found.run.deployment == "etl" and found.run.parameters == {"n": 1}
    )
    assert found.slot == ("etl/0/1700000000", "0", 1_700_000_000.0)
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_header_the_disk_took_only_part_of_leaves_no_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk may write part of the header and say so only by the count (a short
    write, faked here: a real one needs a disk filled to the byte)."""
    path = journal.journal_path(tmp_path, "f1", 1)
    real_write = journal.os.write
    monkeypatch.setattr(journal.os, "write", lambda fd, data: real_write(fd, data[:10]))
    with pytest.raises(OSError, match="No space left"):
        journal.create(path, _run())
    monkeypatch.undo()
    assert not path.exists()  # nothing that reads as an attempt begun
    journal.create(path, _run())  # and the next try can create it
    assert journal.read(path) is not None


def test_a_task_start_is_on_disk_before_the_sink_thread_sends_anything(tmp_path: Path) -> None:
    path = journal.journal_path(tmp_path, "f1", 1)
    journal.create(path, _run())
    writer = journal.JournalWriter(str(path))
    sink = StreamSink(io.BytesIO(), interval=60.0, journal=writer)
    task = _task()
    sink._sleeping = False  # keep the thread asleep: only the synchronous line may land
    sink.put(task)
    found = journal.read(path)
    assert found is not None
    assert [(r.id, r.state.name) for r in found.records if isinstance(r, TaskRunRecord)] == [
        (task.id, "Running")
    ]
    sink.close()
    writer.close()


def test_records_are_journalled_even_when_the_daemon_is_gone(tmp_path: Path) -> None:
    path = journal.journal_path(tmp_path, "f1", 1)
    journal.create(path, _run())
    writer = journal.JournalWriter(str(path))
    sink = StreamSink(BrokenStream(), journal=writer)
    for i in range(50):
        sink.put(LogRecord("f1", None, time.time(), 20, "orc.flow", f"line {i}"))
    run = _run()
    run.state = Completed()
    sink.put(run)
    sink.flush(timeout=5)
    sink.close()
    writer.exit(0)
    writer.close()
    found = journal.read(path)
    assert found is not None and found.exit_code == 0
    assert [r.message for r in found.records if isinstance(r, LogRecord)] == [
        f"line {i}" for i in range(50)
    ]
    assert [r.state.name for r in found.records if isinstance(r, FlowRunRecord)][-1] == "Completed"


def test_a_line_cut_short_by_a_kill_is_skipped_and_the_rest_kept(tmp_path: Path) -> None:
    path = journal.journal_path(tmp_path, "f1", 1)
    journal.create(path, _run())
    writer = journal.JournalWriter(str(path))
    writer.write(journal.started_line(_task("a")))
    writer.write(journal.started_line(_task("b"))[:30])  # the process died mid-write
    writer.close()
    found = journal.read(path)
    assert found is not None and found.unreadable == 1
    assert [r.name for r in found.records if isinstance(r, TaskRunRecord)] == ["a"]


def test_a_file_without_a_header_is_not_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "f1.1.journal"
    path.write_bytes(b"garbage\n")
    assert journal.read(path) is None


def test_a_run_ending_as_its_daemon_goes_keeps_its_final_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon dies as the flow's body returns: the worker's hang-up handler must not close
    the journal before the run's final state, put a moment later, is in it (else the next
    `orc up` takes a finished body for one cut off, and stores it Crashed)."""
    from orchestrate.worker import __main__ as worker_main

    kills: list[int] = []  # the handler ends the worker with SIGKILL: here, that would be pytest
    monkeypatch.setattr(worker_main.os, "kill", lambda pid, sig: kills.append(sig))
    monkeypatch.setattr(worker_main.os, "killpg", lambda pgid, sig: kills.append(sig))
    path = journal.journal_path(tmp_path, "f1", 1)
    journal.create(path, _run())
    writer = journal.JournalWriter(str(path))
    sink = StreamSink(BrokenStream(), journal=writer)
    hangup = threading.Thread(target=worker_main._orphaned, args=(sink, writer))
    hangup.start()
    time.sleep(0.05)  # the engine finishing the run after its body returned (a delay is the point)
    run = _run()
    run.state = Completed()
    sink.put(run)
    hangup.join(5)
    found = journal.read(path)
    assert found is not None and found.exit_code == worker_main.EXIT_ORPHANED
    runs = [r.state.name for r in found.records if isinstance(r, FlowRunRecord)]
    assert runs and runs[-1] == "Completed"
    assert kills, "the orphaned worker still stops itself"
    sink.close()
