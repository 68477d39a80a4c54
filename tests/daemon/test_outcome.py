"""A worker's exit, waited for by several tasks: one that gives up does not end it for the others."""

from __future__ import annotations

import asyncio

from orchestrate.daemon.outcome import Outcome


async def test_a_cancelled_wait_leaves_the_value_to_come_for_the_other_waiters() -> None:
    exit_: Outcome[int] = Outcome()
    gives_up = asyncio.create_task(exit_.wait())
    stays = asyncio.create_task(exit_.wait())
    await asyncio.sleep(0)
    gives_up.cancel()
    await asyncio.gather(gives_up, return_exceptions=True)
    assert gives_up.cancelled() and not exit_.done()
    exit_.set(3)
    exit_.set(4)  # the first value stands
    assert await asyncio.wait_for(stays, 5) == 3
    assert await exit_.wait() == 3  # a wait after it was set returns at once
