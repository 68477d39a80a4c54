"""What one run costs the daemon's event loop: the callbacks it runs, from start to exit.

A busy daemon runs ~100 one-task flow runs a second on its one loop, and each
callback costs it ~10-20 µs however little it does, so the count is the
loop's share of a run; it is pinned so a change that adds to it is seen.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from tests.worker.conftest import Project

QUIET = """
from orchestrate import flow, task

@task
def one(i: int) -> int:
    return i

@flow
def quiet(i: int = 0) -> int:
    return one(i)
"""

#: The callbacks a quiet one-task run of a cold worker may cost the loop: 19 when written
#: (54 while each output pipe had a stream, a transport and a task of its own, and the
#: pipes' end waited on every pump again though all had ended; 30 while the socket had too).
BUDGET = 23


@pytest.fixture
def callbacks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts every callback the test's loop runs (ready ones, timers, task steps); not those
    of loops other tests left running in threads of this process."""
    count = [0]
    run = asyncio.events.Handle._run
    ours = threading.get_ident()

    def counted(handle: asyncio.events.Handle) -> None:
        if threading.get_ident() == ours:
            count[0] += 1
        run(handle)

    monkeypatch.setattr(asyncio.events.Handle, "_run", counted)
    yield count


async def test_a_quiet_run_costs_the_loop_few_callbacks(
    project: Project, callbacks: list[int]
) -> None:
    project.write("quiet.py", QUIET)
    await project.run("quiet.py:quiet")  # the first run imports what later ones find loaded
    before = callbacks[0]
    exit_ = await project.run("quiet.py:quiet")
    used = callbacks[0] - before
    assert exit_.final_state.name == "Completed"
    assert used <= BUDGET, f"{used} callbacks of the loop for one quiet run"
