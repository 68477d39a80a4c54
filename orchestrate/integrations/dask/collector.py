"""Collecting attempts as Dask settles them, on the client's event loop, the ended ones gathered together.

`distributed.as_completed` watches each future with a task and three
coroutines of its own on the client's loop (which a LocalCluster's scheduler
shares): most of the flow process's cost per attempt beyond plain `client.map`.
Here each attempt's future state gets an event that, when Dask sets it
(finished, erred, cancelled), puts the attempt's key on one list and wakes one
collector; the collector gathers the finished ones of that list in one round
trip. Every attempt gets exactly one outcome (its envelope, or the exception
that ended it), whatever fails on the way, so no task run waits forever.

When the scheduler is on this host (a LocalCluster, `dask scheduler` on
localhost), outcomes are gathered straight from the workers that hold them
(`gathers_direct`) rather than relayed by the scheduler, which on such a
machine shares the CPUs with the workers and the flow (5,000 no-op task runs,
rounds alternating in one process on 2 busy CPUs: wall 9.6 -> 7.6 s, flow-process
CPU 2.34 -> 2.16 s; `bench/dask.py`). Elsewhere workers may
be unreachable from here (dask-gateway, a scheduler behind a tunnel), so Dask's
own choice stands; `client_kwargs={"direct_to_workers": ...}` decides in both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit

#: With more attempts than this still running, outcomes wait a while to be gathered together:
#: each gather is a round trip to the workers on the client's loop (which a LocalCluster's
#: scheduler shares), and costs the flow process about a millisecond whatever its size. A
#: lone attempt (a chain) is gathered at once.
WIDE = 16
#: The wait (seconds) per WIDE attempts still running, and the longest. Each batch delivered
#: also costs the store a write with updates (~10 ms of the store writer's CPU, whatever its
#: size): at 0.05 s a 5,000-task map made ~75 such writes, at 0.2 s ~30 (1.3 s -> 1.0 s of
#: the writer's CPU), and a run's outcome arrives at most 0.2 s later while hundreds run.
GATHER_WINDOW = 0.005
GATHER_WINDOW_MAX = 0.2

#: (attempt key, envelope or the exception that ended the attempt)
Outcomes = list[tuple[str, Any]]
#: Scheduler hosts that mean "this machine": its workers are reachable from the flow process.
_THIS_HOST = frozenset({"127.0.0.1", "localhost", "::1"})


def gathers_direct(scheduler_address: str, chosen: bool | None) -> bool | None:
    """Whether to gather outcomes from the workers themselves: the client's `direct_to_workers`
    when set, else yes when the scheduler is on this host, else Dask's default (None)."""
    if chosen is not None:
        return chosen
    if scheduler_address.startswith("inproc://"):
        return True
    return True if urlsplit(scheduler_address).hostname in _THIS_HOST else None


class _Settled(asyncio.Event):
    """A Dask future state's event that also tells the collector when Dask sets it."""

    def __init__(self, key: str, ended: Callable[[str], None]) -> None:
        super().__init__()
        self._key = key
        self._ended = ended

    def set(self) -> None:
        super().set()
        self._ended(self._key)


class Collector:
    """Hands the outcomes of a flow run's attempts to `deliver`, in batches, as they end.

    Args:
        client: the flow run's `distributed.Client`; everything here runs on its loop.
        deliver: called (on the client's loop) with outcomes; it must not block.
        direct: gather from the workers (True), through the scheduler (False), or as Dask
            chooses (None); see `gathers_direct`.
    """

    def __init__(
        self, client: Any, deliver: Callable[[Outcomes], None], direct: bool | None = None
    ) -> None:
        self.client = client
        self._deliver = deliver
        self._direct = direct
        self._waiting: dict[str, Any] = {}  # attempt key -> its Dask future
        self._ended: list[str] = []
        self._wake: asyncio.Event | None = None
        self._running = False
        self._tasks: set[asyncio.Future[None]] = set()  # held, so the loop does not drop them

    def watch(self, futures: list[Any]) -> None:
        """Collect these attempts' outcomes (on the client's loop)."""
        for future in futures:
            self._waiting[future.key] = future
            state = future._state
            if state._event is None:
                state._event = _Settled(future.key, self._on_ended)
                if state.status != "pending":  # settled before we looked
                    self._on_ended(future.key)
            else:  # an event exists (something waits on it): ask Dask the usual way
                self._start(self._await_one(future))
        if not self._running:
            self._running = True
            self._start(self._collect())

    def _start(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _await_one(self, future: Any) -> None:
        while future.status == "pending":
            await future._state.wait()
        self._on_ended(future.key)

    def _on_ended(self, key: str) -> None:
        if key in self._waiting:
            self._ended.append(key)
            if self._wake is not None:
                self._wake.set()

    async def _collect(self) -> None:
        """Gather what ended, until no attempt is left waiting; then stop until `watch`."""
        self._wake = asyncio.Event()
        try:
            while self._waiting:
                if not self._ended:
                    await self._wake.wait()
                    self._wake.clear()
                if len(self._waiting) > WIDE:  # many still running: let more of them end
                    await asyncio.sleep(_window(len(self._waiting)))
                keys, self._ended = self._ended, []
                batch = [self._waiting[key] for key in dict.fromkeys(keys) if key in self._waiting]
                if not batch:
                    continue
                outcomes = await self._outcomes(batch)
                for key, _ in outcomes:
                    self._waiting.pop(key, None)
                self._deliver(outcomes)
        except BaseException as exc:  # never leave an attempt without an outcome
            waiting, self._waiting = self._waiting, {}
            self._deliver([(key, exc) for key in waiting])
            if not isinstance(exc, Exception):
                raise
        finally:  # on the loop, with no await since the last check: no attempt is missed
            self._running = False
            self._wake = None

    async def _outcomes(self, batch: list[Any]) -> Outcomes:
        finished = [future for future in batch if future.status == "finished"]
        results: dict[str, Any] = {}
        if finished:
            try:
                values = await self.client.gather(finished, asynchronous=True, direct=self._direct)
                results = {f.key: value for f, value in zip(finished, values, strict=True)}
            except Exception:  # one was lost on the way: settle them one by one below
                results = {}
        outcomes: Outcomes = []
        for future in batch:
            if future.key in results:
                outcomes.append((future.key, results[future.key]))
                continue
            try:
                # as distributed's own as_completed does: whatever ended the attempt
                # (KilledWorker, cancelled, lost) is its outcome
                outcomes.append((future.key, await future._result()))
            except BaseException as exc:
                outcomes.append((future.key, exc))
        return outcomes


def _window(running: int) -> float:
    """How long ended attempts wait for others to end, with `running` still running."""
    return min(GATHER_WINDOW_MAX, GATHER_WINDOW * running / WIDE)
