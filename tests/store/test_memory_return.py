"""After a large write leaves nothing queued, the writer hands freed memory back to the system.

Without it a 100k-task flow's process stayed 0.8-2.6 KB per task run larger
once everything was stored: the freed batches stayed in glibc's heap. The
trim itself is glibc's `malloc_trim`; what it gives back is the kernel's
business, so these tests watch when the writer asks for it (the call is
replaced by a recorder) and that the real call works here.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from orchestrate.core.records import LogRecord
from orchestrate.store import StoreWriter, memory
from orchestrate.store.batch import Batch


@pytest.fixture
def trims(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(memory, "give_back", lambda: calls.append(1) or True)
    return calls


def _lines(n: int) -> list[LogRecord]:
    return [LogRecord("f", None, 1_700_000_000 + i, 20, "orc", f"line {i}") for i in range(n)]


def test_a_large_write_that_drains_the_queue_gives_memory_back(
    trims: list[int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory, "TRIM_AFTER", 1_000)
    writer = StoreWriter(tmp_path / "orc.duckdb")
    try:
        for record in _lines(1_500):
            writer.put(record)
        assert writer.flush(30)
        assert trims
    finally:
        writer.close()


def test_small_writes_do_not(
    trims: list[int], tmp_path: Path, build: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory, "TRIM_AFTER", 1_000)
    writer = StoreWriter(tmp_path / "orc.duckdb")
    try:
        for record in _lines(10):
            writer.put(record)
            assert writer.flush(30)
        assert not trims
    finally:
        writer.close()


def test_the_real_trim_runs_here() -> None:
    assert memory.give_back() in (True, False)  # False only where the C library has no malloc_trim


def test_a_flush_marker_drained_after_its_records_still_gives_memory_back(
    trims: list[int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the writer's thread meets: the marker is queued while its records are written."""
    monkeypatch.setattr(memory, "TRIM_AFTER", 1_000)
    writer = StoreWriter(tmp_path / "orc.duckdb")  # its thread never starts: no put
    try:
        writer._queue.append(object())  # stands for the flush marker, queued meanwhile
        writer._pending = Batch.of(_lines(1_500))
        assert writer._write_pending()
        assert not trims  # something is still queued
        writer._queue.clear()  # drained: the marker's own write has no records
        assert writer._write_pending()
        assert trims
    finally:
        writer._file.release()
        writer.close()
