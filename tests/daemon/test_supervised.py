"""The daemon's long-lived parts are restarted when they fail, and stop the daemon when they
keep failing: never a daemon that answers but no longer schedules."""

from __future__ import annotations

import asyncio
import itertools
import logging

import pytest

from orchestrate.daemon import supervised
from orchestrate.daemon.supervised import Supervised


async def test_a_part_that_fails_once_is_logged_and_started_again(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(supervised, "FIRST_DELAY", 0.01)
    stop = asyncio.Event()
    calls: list[int] = []
    second_start = asyncio.Event()

    async def scheduler() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("No space left on device")
        second_start.set()
        await stop.wait()

    parts = Supervised(stop)
    with caplog.at_level(logging.ERROR, logger="orc.daemon"):
        parts.start("scheduler", scheduler)
        await asyncio.wait_for(second_start.wait(), 5)
    assert parts.failed is None and not stop.is_set()
    assert any("scheduler failed" in r.getMessage() and r.exc_info for r in caplog.records)
    stop.set()
    await parts.cancel()


async def test_a_part_that_keeps_failing_stops_the_daemon_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(supervised, "FIRST_DELAY", 0.001)
    monkeypatch.setattr(supervised, "MAX_DELAY", 0.001)
    stop = asyncio.Event()
    calls: list[int] = []

    async def watcher() -> None:
        calls.append(1)
        raise RecursionError("maximum recursion depth exceeded")

    parts = Supervised(stop)
    parts.start("watcher", watcher)
    await asyncio.wait_for(stop.wait(), 5)
    assert parts.failed == "watcher" and len(calls) == supervised.MAX_FAILURES + 1
    await parts.cancel()


async def test_restarts_are_spaced_by_a_growing_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervised, "FIRST_DELAY", 0.05)
    stop = asyncio.Event()
    times: list[float] = []
    loop = asyncio.get_running_loop()

    async def flaky() -> None:
        times.append(loop.time())
        if len(times) == 3:
            stop.set()
        raise ValueError("boom")

    parts = Supervised(stop)
    parts.start("flaky", flaky)
    await asyncio.wait_for(stop.wait(), 5)
    await parts.cancel()
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1  # doubling: never a tight loop
