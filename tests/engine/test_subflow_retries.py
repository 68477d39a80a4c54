"""A parent flow's retry and its child flows, as Prefect 3 does it: a completed child is not run again."""

from __future__ import annotations

import asyncio

from orchestrate import flow


def test_a_flow_retry_does_not_rerun_a_child_flow_that_completed(recorded) -> None:
    calls: list[int] = []
    attempts: list[int] = []

    @flow
    def child(x: int) -> int:
        calls.append(x)
        return x * 2

    @flow(retries=1)
    def parent() -> int:
        doubled = child(3)
        attempts.append(doubled)
        if len(attempts) == 1:
            raise RuntimeError("the first attempt fails after its child completed")
        return doubled

    assert parent() == 6
    assert calls == [3] and attempts == [6, 6]
    assert [r.flow_name for r in recorded.flow_runs()].count("child") == 1


def test_a_flow_retry_reruns_a_child_flow_that_failed(recorded) -> None:
    calls: list[int] = []

    @flow
    def flaky() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("child broke once")
        return "ok"

    @flow(retries=1)
    def parent() -> str:
        return flaky()

    assert parent() == "ok"
    assert len(calls) == 2


def test_an_async_parent_retry_reuses_its_completed_async_child(recorded) -> None:
    calls: list[int] = []
    attempts: list[int] = []

    @flow
    async def child() -> int:
        calls.append(1)
        return 7

    @flow(retries=1)
    async def parent() -> int:
        value = await child()
        attempts.append(value)
        if len(attempts) == 1:
            raise RuntimeError("retry me")
        return value

    assert asyncio.run(parent()) == 7
    assert calls == [1] and attempts == [7, 7]
