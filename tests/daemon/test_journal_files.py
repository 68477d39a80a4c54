"""Journals of stored attempts are emptied and used again, so a dispatch makes no new inode."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from orchestrate.core.records import FlowRunRecord
from orchestrate.daemon.journal_files import JournalFiles
from orchestrate.recording import journal
from orchestrate.states import Pending


def _run(run_id: str, run_count: int = 1) -> FlowRunRecord:
    return FlowRunRecord(id=run_id, name="brave-otter", flow_name="etl", parameters={"n": 1},
                         state=Pending(), created=time.time(), deployment="etl", run_count=run_count)  # fmt: skip


def _dispatch(files: JournalFiles, folder: Path, run_id: str) -> Path:
    path = journal.journal_path(folder, run_id, 1)
    files.create(path, _run(run_id), ("etl/0/1", "0", 1.0))
    return path


def test_a_retired_journal_becomes_the_next_attempts_holding_only_its_header(
    tmp_path: Path,
) -> None:
    files = JournalFiles(tmp_path)
    first = _dispatch(files, tmp_path, "run-1")
    journal.JournalWriter(str(first)).write(b'{"exit":0}\n')  # the worker's lines
    inode = first.stat().st_ino
    files.retire(first)
    assert not first.exists() and [p.suffix for p in tmp_path.iterdir()] == [".unused"]

    second = _dispatch(files, tmp_path, "run-2")
    assert second.stat().st_ino == inode  # the same file: ext4 made no inode for it
    found = journal.read(second)
    assert found is not None and (found.flow_run_id, found.attempt) == ("run-2", 1)
    assert found.exit_code is None and found.slot == ("etl/0/1", "0", 1.0)  # nothing of run-1's
    assert second.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [second.name]


def test_an_existing_journal_is_never_overwritten(tmp_path: Path) -> None:
    files = JournalFiles(tmp_path)
    files.retire(_dispatch(files, tmp_path, "run-1"))
    taken = _dispatch(files, tmp_path, "run-2")
    files.retire(_dispatch(files, tmp_path, "run-3"))
    with pytest.raises(FileExistsError):
        _dispatch(files, tmp_path, "run-2")
    assert journal.read(taken) is not None and journal.read(taken).flow_run_id == "run-2"  # type: ignore[union-attr]


def test_few_are_kept_and_none_outlive_the_daemon(tmp_path: Path) -> None:
    files = JournalFiles(tmp_path)
    for n in range(files.keep + 5):
        files.retire(_dispatch(files, tmp_path, f"run-{n}"))  # one kept at a time
    paths = [journal.journal_path(tmp_path, f"x-{n}", 1) for n in range(files.keep + 5)]
    for path in paths:
        journal.create(path, _run(path.name))
    for path in paths:
        files.retire(path)
    assert len(list(tmp_path.glob("*.unused"))) == files.keep
    files.close()
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "7.unused").write_bytes(b"left by a killed daemon")
    JournalFiles(tmp_path)
    assert list(tmp_path.iterdir()) == []
