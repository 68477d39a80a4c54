"""What forking a worker from a zygote costs the daemon's event loop, in callbacks.

As `tests/worker/test_loop_work.py` for a whole cold run: each callback costs
the loop ~10-20 µs however little it does. A busy daemon forks a spare worker
for every run it starts, so the count is pinned so a change that adds to it is seen.
"""

from __future__ import annotations

from orchestrate.daemon.spares import fork_spares
from tests.worker.test_loop_work import QUIET, callbacks
from tests.worker.test_zygote import WarmProject, project

__all__ = ["callbacks", "project"]  # fixtures, used here

#: The callbacks forking 4 spares may cost the loop: 17 when written (29 while the wait
#: for each child's start ran in a task of its own, with a callback to end it).
BUDGET = 21


async def test_forking_spares_costs_the_loop_few_callbacks(
    project: WarmProject, callbacks: list[int]
) -> None:
    project.write("quiet.py", QUIET)
    zygotes = project.supervisor.zygotes
    assert zygotes is not None
    zygotes.spares = False  # no spares forked in the background meanwhile: only these count
    assert await zygotes.warm(str(project.root))
    zygote = zygotes.zygote(str(project.root))
    assert zygote is not None
    before = callbacks[0]
    spares = await fork_spares(zygote, None, 4)
    used = callbacks[0] - before
    assert len(spares) == 4 and all(spare.alive() for spare in spares)
    for spare in spares:
        await spare.drop(None)
    assert used <= BUDGET, f"{used} callbacks of the loop to fork 4 spares"


#: The callbacks a quiet one-task run of a spare that was ready costs the loop: 9 when
#: written (22 while the worker's exit was waited for through `asyncio.shield`, twice, and
#: 18 while its socket was read by a stream and a task).
RUN_BUDGET = 11


async def test_a_quiet_forked_run_costs_the_loop_few_callbacks(
    project: WarmProject, callbacks: list[int]
) -> None:
    project.write("quiet.py", QUIET)
    await project.run("quiet.py:quiet")  # the first run imports what later ones find loaded
    used = []
    for n in range(2, 8):  # some of them fork the next spares meanwhile: the least counts
        before = callbacks[0]
        run_id = f"7f0c1d2e-0000-4000-8000-00000000000{n}"
        exit_ = await project.run("quiet.py:quiet", flow_run_id=run_id)
        assert exit_.final_state.name == "Completed"
        used.append(callbacks[0] - before)
    assert min(used) <= RUN_BUDGET, f"{used} callbacks of the loop for quiet forked runs"
