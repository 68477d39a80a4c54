"""Per-run files kept off the daemon's loop: in order, and journals only once the store has them."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from orchestrate.daemon.run_files import RunFiles
from orchestrate.recording.journal import journal_path

RUN = "7f0c1d2e-0000-4000-8000-000000000001"


def files(tmp_path: Path, stored: bool) -> tuple[RunFiles, list[asyncio.Task[Any]], list[float]]:
    tasks: list[asyncio.Task[Any]] = []
    flushes: list[float] = []

    def flush(timeout: float) -> bool:
        flushes.append(timeout)
        return stored

    def background(work: Coroutine[Any, Any, Any]) -> None:
        tasks.append(asyncio.create_task(work))

    (tmp_path / "workers").mkdir()
    (tmp_path / "runs").mkdir()
    return RunFiles(tmp_path / "workers", tmp_path / "runs", flush, background), tasks, flushes


async def test_a_pid_file_is_written_then_removed_in_order_within_one_batch(tmp_path: Path) -> None:
    run_files, tasks, _ = files(tmp_path, stored=True)
    run_files.started(RUN, 4242)
    assert not (tmp_path / "workers" / f"{RUN}.pid").exists()  # not on the loop
    await asyncio.wait_for(run_files.drained(), 10)
    assert (tmp_path / "workers" / f"{RUN}.pid").read_text() == "4242"
    run_files.started("other", 1)
    run_files.ended(RUN)
    run_files.ended("other")  # queued after its write in the same batch: never left behind
    await asyncio.wait_for(run_files.drained(), 10)
    assert list((tmp_path / "workers").iterdir()) == []
    assert len(tasks) == 2  # one drain per batch, not one per file


async def test_journals_go_after_one_flush_of_the_writer_for_the_whole_batch(
    tmp_path: Path,
) -> None:
    run_files, _, flushes = files(tmp_path, stored=True)
    paths = [journal_path(tmp_path / "runs", RUN, n) for n in (1, 2, 3)]
    for path in paths:
        path.write_text("{}\n")
    other = journal_path(tmp_path / "runs", "other", 1)
    other.write_text("{}\n")
    run_files.retire(RUN, 2)
    run_files.retire("other", 1)
    await asyncio.wait_for(run_files.drained(), 10)
    assert [p.exists() for p in paths] == [False, False, True]  # attempt 3 is not retired
    assert not other.exists()
    assert len(flushes) == 1


async def test_journals_are_kept_for_replay_when_the_store_does_not_have_them(
    tmp_path: Path,
) -> None:
    run_files, _, flushes = files(tmp_path, stored=False)
    path = journal_path(tmp_path / "runs", RUN, 1)
    path.write_text("{}\n")
    run_files.retire(RUN, 1)
    await asyncio.wait_for(run_files.drained(), 10)
    assert path.exists() and flushes == [60.0]


async def test_runs_retired_close_together_share_one_flush_of_the_writer(tmp_path: Path) -> None:
    """A flush makes the writer store at once, cutting its batch short: one per run ended
    (~100 a second in a busy daemon) would make it write many small batches."""
    run_files, tasks, flushes = files(tmp_path, stored=True)
    paths = [journal_path(tmp_path / "runs", f"run-{n}", 1) for n in range(3)]
    for number, path in enumerate(paths):
        path.write_text("{}\n")
        run_files.retire(f"run-{number}", 1)
        await asyncio.sleep(0)  # each one comes on a later turn of the loop
        await asyncio.gather(*tasks)
    assert flushes == [] and all(p.exists() for p in paths)  # still within the interval
    await asyncio.wait_for(run_files.retired.wait(), 10)
    await asyncio.wait_for(run_files.drained(), 10)
    assert len(flushes) == 1
    assert not any(p.exists() for p in paths)


async def test_drained_retires_at_once_what_waits_for_the_interval(tmp_path: Path) -> None:
    run_files, _, flushes = files(tmp_path, stored=True)
    path = journal_path(tmp_path / "runs", RUN, 1)
    path.write_text("{}\n")
    run_files.retire(RUN, 1)
    await asyncio.wait_for(run_files.drained(), 10)  # as the daemon does when it stops
    assert not path.exists() and len(flushes) == 1


async def test_pid_files_of_runs_started_close_together_share_one_thread_hop(
    tmp_path: Path,
) -> None:
    """Each batch costs a hop to a thread and back (~0.1 ms of the loop's CPU, more on a
    loaded machine): runs that start or end on later turns of the loop still share one."""
    run_files, _, _ = files(tmp_path, stored=True)
    batches: list[int] = []
    do = run_files._do
    run_files._do = lambda batch: (batches.append(len(batch)), do(batch))  # type: ignore[method-assign]
    for number in range(3):
        run_files.started(f"run-{number}", 100 + number)
        await asyncio.sleep(0)  # each one on a later turn of the loop, as runs start
    run_files.ended("run-0")  # before its file was written: neither is done
    await asyncio.wait_for(run_files.drained(), 10)
    assert batches == [2]
    assert sorted(p.name for p in (tmp_path / "workers").iterdir()) == ["run-1.pid", "run-2.pid"]


async def test_a_worker_that_ends_before_its_pid_file_is_written_never_gets_one(
    tmp_path: Path,
) -> None:
    """Most runs of a busy daemon end within the batch's wait: their pid files would be an
    inode made and freed each, for nothing."""
    run_files, _, _ = files(tmp_path, stored=True)
    workers = tmp_path / "workers"
    before = workers.stat().st_mtime_ns
    run_files.started(RUN, 4242)
    run_files.ended(RUN)
    await asyncio.wait_for(run_files.drained(), 10)
    assert workers.stat().st_mtime_ns == before  # the folder never had the file
    run_files.started(RUN, 4243)  # a later attempt's worker, still running: its file is written
    await asyncio.wait_for(run_files.drained(), 10)
    assert (workers / f"{RUN}.pid").read_text() == "4243"
