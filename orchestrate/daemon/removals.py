"""Flow runs the daemon deleted, told to subscribers once the store no longer has them.

Planned runs withdrawn (a schedule changed or removed, a slot skipped) reach
the writer as a `RunDeletion` through `recorder.record_batch`; finished runs
pruned (`orc prune`, run retention) as a `RunPruning` from a worker thread,
which waits for the writer's flush. Either way a client that lists runs and
then follows pushes would keep them for good, so `flow_runs_removed` says
which ids went, and only after the write that removed them: a client that
asks the store on hearing it never finds them again. Ids put in one pass of
the loop go as one push (split past `MOST_IDS`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orchestrate.daemon.service import Daemon

TOPIC = "flow_runs_removed"
WITHDRAWN, PRUNED = "withdrawn", "pruned"
#: The most ids one push names: a prune of thousands goes as a few lines of bounded size.
MOST_IDS = 1000


class Removals:
    """Gathers the ids of runs deleted in a pass of the loop and pushes them once written."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self._withdrawn: list[str] = []

    def withdrawn(self, run_ids: Iterable[str]) -> None:
        """Runs put to the writer as deleted now, on the loop: pushed once that write is done.

        The writer is asked at the end of this pass, so a deletion held back by
        `stored_together` is queued before the question.
        """
        if not self._withdrawn:
            try:
                asyncio.get_running_loop().call_soon(self._ask_writer)
            except RuntimeError:
                return  # planning driven with no loop (no server): no subscriber to tell
        self._withdrawn += run_ids

    def _ask_writer(self) -> None:
        ids, self._withdrawn = self._withdrawn, []
        loop = asyncio.get_running_loop()
        self.daemon.writer.when_stored(
            lambda: loop.call_soon_threadsafe(self.publish, WITHDRAWN, ids)
        )

    def teller(self, reason: str) -> Callable[[Sequence[str]], None]:
        """For another thread (a prune): a function to call with ids the store has removed.

        Call this on the loop; what it returns hands the ids back to it.
        """
        loop = asyncio.get_running_loop()

        def tell(run_ids: Sequence[str]) -> None:
            loop.call_soon_threadsafe(self.publish, reason, list(run_ids))

        return tell

    def publish(self, reason: str, run_ids: list[str]) -> None:
        """Push `run_ids` as removed, at most `MOST_IDS` a push."""
        for start in range(0, len(run_ids), MOST_IDS):
            chunk = run_ids[start : start + MOST_IDS]
            self.daemon.publish(TOPIC, {"ids": chunk, "reason": reason})
