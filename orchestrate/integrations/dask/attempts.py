"""Attempts on the cluster: packing a body attempt for Dask, submitting in batches, collecting outcomes.

Submitting one Dask task at a time costs Dask about a millisecond each in the
flow process; attempts queued while one batch goes out leave together as one
graph (`client.map`). Outcomes are collected on the client's event loop as
attempts end, the finished ones gathered together, and handed back in one
call per batch. Every attempt gets exactly one outcome — its envelope, or the
exception that ended it (`KilledWorker`, cancelled, lost) — whatever fails on
the way, so no task run waits forever.

Large results that a worker kept (`Envelope.kept`) are remembered here by
identity; an attempt whose inputs are all kept on one worker is sent with
markers in their place and asked to run on that worker.
"""

from __future__ import annotations

import asyncio
import copyreg
import dataclasses
import io
import operator
import pickle
import sys
import threading
from collections.abc import Callable
from contextlib import suppress
from functools import partial
from typing import TYPE_CHECKING, Any

import cloudpickle

from orchestrate.core.records import TaskRunRecord
from orchestrate.integrations.dask.cluster import DaskError, WorkerLost
from orchestrate.integrations.dask.placement import SubmitOptions
from orchestrate.integrations.dask.remote import (
    FILE_MODULE_PREFIX,
    Attempt,
    Envelope,
    KeptValue,
    TaskCode,
    dumps_keeping_files,
    forget_kept,
    run_attempt,
)

if TYPE_CHECKING:
    from distributed import Client

    from orchestrate.engine.definitions import TaskDefinition
    from orchestrate.engine.task_engine import TaskRunJob

#: Attempts bigger than this (pickled) are scattered to the cluster rather than put in its graph.
SCATTER_OVER = 1 << 20
#: With more attempts than this of one batch still running, outcomes wait this long (seconds)
#: to be gathered together: each gather is a round trip to the workers on the client's loop,
#: which a LocalCluster's scheduler shares. A lone attempt (a chain) is gathered at once.
WIDE = 16
GATHER_WINDOW = 0.005

#: (attempt key, envelope or the exception that ended the attempt)
Outcomes = list[tuple[str, Any]]
#: An attempt waiting to leave: key, payload, the worker keeping its inputs, Dask options.
_Outgoing = tuple[str, Any, str | None, SubmitOptions]


class AttemptNotSent(DaskError):
    """An attempt could not be packed for the cluster (its arguments do not pickle)."""


class AttemptChannel:
    """Sends one flow run's body attempts to Dask and hands their outcomes to `deliver`.

    Args:
        client: the flow run's `distributed.Client`.
        post: runs a callable on the flow process's one thread for moving runs on.
        deliver: called there with the outcomes of attempts that ended.
        keep_over: ask workers to keep results of at least this many bytes (None: never).
    """

    def __init__(
        self,
        client: Client,
        post: Callable[[Callable[[], None]], None],
        deliver: Callable[[Outcomes], None],
        keep_over: int | None,
    ) -> None:
        self.client = client
        self._post = post
        self._deliver = deliver
        self._keep_over = keep_over
        self._lock = threading.Lock()
        self._outbox: list[_Outgoing] = []
        self._codes: dict[int, tuple[TaskDefinition, TaskCode]] = {}
        self._kept: dict[int, tuple[Any, str, str]] = {}  # id(result) -> (result, worker, key)
        self._kept_runs: set[str] = set()
        # touched only on the client's loop: the collector of attempts in flight, and them
        self._collector: Any = None
        self._waiting: dict[str, Any] = {}

    def pack(
        self,
        job: TaskRunJob,
        parameters: dict[str, Any],
        log_level: int,
        resend: bool = False,
        place: bool = True,
    ) -> tuple[str, bytes, str | None]:
        """The attempt's key, its payload, and the worker it should run on (if any).

        With `place` False (the user placed the run with `dask.annotate`), kept inputs are
        sent as values rather than steering the run to the worker that keeps them.
        """
        run = job.run
        key = f"orc-{job.task.options.name}-{run.id}-{run.run_count}" + (
            "-resent" if resend else ""
        )
        keep_placing = place and not resend
        sent, worker = self._swap_kept(parameters) if keep_placing else (parameters, None)
        assert job.context is not None
        attempt = Attempt(
            key,
            self._code(job.task),
            run,
            sent,
            job.context.log_prints,
            log_level,
            self._keep_over,
            kept_inputs=worker is not None,
        )
        try:
            return key, _dumps(attempt), worker
        except Exception as exc:
            raise AttemptNotSent(
                f"Task run {run.name!r} could not be sent to the Dask cluster: its arguments do "
                f"not pickle ({type(exc).__name__}: {exc}). Pass values cloudpickle can serialise."
            ) from exc

    def send(
        self, key: str, payload: bytes, worker: str | None, options: SubmitOptions | None = None
    ) -> None:
        """Queue an attempt; it leaves with the next batch (`options`: Dask's, from annotations)."""
        with self._lock:
            self._outbox.append((key, payload, worker, options or {}))
            first = len(self._outbox) == 1
        if first:
            self._post(self._flush)

    def _flush(self) -> None:
        with self._lock:
            outbox, self._outbox = self._outbox, []
        try:
            futures = self._submit(outbox)
        except Exception as exc:  # the client is gone: every attempt of the batch ends here
            self._deliver([(entry[0], exc) for entry in outbox])
            return
        loop = self.client.loop
        assert loop is not None
        loop.add_callback(self._track, futures)

    def _submit(self, outbox: list[_Outgoing]) -> list[Any]:
        """One graph for the attempts that may run anywhere; one submit each for the others."""
        large = [entry for entry in outbox if len(entry[1]) > SCATTER_OVER]
        if large:  # big inputs go as data, not inside the graph the scheduler keeps
            scattered = self.client.scatter([entry[1] for entry in large], hash=False)
            by_key = {entry[0]: data for entry, data in zip(large, scattered, strict=True)}
            outbox = [
                (key, by_key.get(key, payload), worker, options)
                for key, payload, worker, options in outbox
            ]
        futures: list[Any] = []
        anywhere = [
            (key, payload) for key, payload, worker, options in outbox if not (worker or options)
        ]
        if anywhere:
            keys, payloads = zip(*anywhere, strict=True)
            futures += self.client.map(run_attempt, payloads, key=list(keys), pure=False)
        for key, payload, worker, options in outbox:
            if options:  # placed by the user (`dask.annotate`)
                futures.append(
                    self.client.submit(run_attempt, payload, key=key, pure=False, **options)
                )
            elif worker is not None:  # its inputs are kept there: run it there if Dask can
                futures.append(
                    self.client.submit(
                        run_attempt,
                        payload,
                        key=key,
                        workers=[worker],
                        pure=False,
                        allow_other_workers=True,
                    )
                )
        return futures

    async def _track(self, futures: list[Any]) -> None:
        """On the client's loop: collect attempts as they end, the finished ones in one gather.

        One collector serves every batch in flight, so attempts of many batches that end
        together are gathered together (one round trip), not one gather per batch.
        """
        for future in futures:
            self._waiting[future.key] = future
        if self._collector is not None:  # running: it takes these too
            self._collector.update(futures)
            return
        from distributed import as_completed

        self._collector = ended = as_completed(futures, loop=self.client.loop)
        try:
            async for future in ended:
                if len(self._waiting) > WIDE:  # many still running: let a few more end, gather once
                    await asyncio.sleep(GATHER_WINDOW)
                batch = [future, *ended.next_batch(block=False)]
                outcomes = await self._outcomes(batch)
                for key, _ in outcomes:
                    self._waiting.pop(key, None)
                self._post(partial(self._deliver, outcomes))
        except BaseException as exc:  # never leave an attempt without an outcome
            waiting, self._waiting = self._waiting, {}
            self._post(partial(self._deliver, [(key, exc) for key in waiting]))
            if not isinstance(exc, Exception):
                raise
        finally:  # on the loop, with no await since the last attempt ended: none is missed
            self._collector = None

    async def _outcomes(self, batch: list[Any]) -> Outcomes:
        finished = [future for future in batch if future.status == "finished"]
        results: dict[str, Any] = {}
        if finished:
            try:
                values = await self.client.gather(finished, asynchronous=True)
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

    # --- results kept on workers ---------------------------------------------------

    def remember_kept(self, key: str, envelope: Envelope, flow_run_id: str) -> None:
        with self._lock:
            self._kept[id(envelope.value)] = (envelope.value, envelope.worker, key)
            self._kept_runs.add(flow_run_id)

    def drop_kept(self) -> None:
        """Drop the kept results from the workers (at the end of the flow run)."""
        for flow_run_id in self._kept_runs:
            with suppress(Exception):  # workers that are gone took their results with them
                self.client.run(forget_kept, flow_run_id)
        self._kept.clear()

    def _swap_kept(self, parameters: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """Parameters with results kept on one worker replaced by markers, and that worker."""
        if not self._kept:
            return parameters, None
        workers: set[str] = set()

        def swap(value: Any) -> Any:
            entry = self._kept.get(id(value))
            if entry is not None and entry[0] is value:
                workers.add(entry[1])
                return KeptValue(entry[2])
            if type(value) in (list, tuple):
                return type(value)(swap(v) for v in value)
            if type(value) is dict:
                return {k: swap(v) for k, v in value.items()}
            return value

        with self._lock:
            swapped = {name: swap(value) for name, value in parameters.items()}
        if len(workers) != 1:  # none kept, or kept on several workers: send the values
            return parameters, None
        return swapped, workers.pop()

    def _code(self, task: TaskDefinition) -> TaskCode:
        entry = self._codes.get(id(task))
        if entry is None:
            _pickle_file_modules_by_value(task)
            entry = self._codes[id(task)] = (task, TaskCode.of(task))
        return entry[1]


def attempt_error(job: TaskRunJob, error: BaseException) -> Exception:
    """What an attempt that Dask could not finish failed with, saying where and why."""
    where = f"attempt {job.run.run_count} of task run {job.run.name!r}"
    name = type(error).__name__
    if name == "KilledWorker":
        worker = getattr(getattr(error, "last_worker", None), "address", "?")
        return WorkerLost(f"The Dask worker {worker} died while running {where}.")
    if name in ("CancelledError", "FutureCancelledError"):
        return WorkerLost(
            f"Dask cancelled {where}: the scheduler, or the worker running it, went away."
        )
    lines = str(error).strip().splitlines() or [""]
    if lines[0].startswith("Could not serialize"):
        return DaskError(
            f"The result of {where} could not be sent back from the Dask worker ({lines[-1]}); "
            "return values that cloudpickle can serialise."
        )
    return DaskError(f"Dask could not run {where}: {name}: {lines[0]}")


#: Values the standard pickle writes as themselves, never as a reference to code a worker may lack.
_PLAIN = frozenset({int, float, str, bytes, bool, type(None), complex})


def _dumps(attempt: Attempt) -> bytes:
    """The attempt pickled: plain arguments by the C pickler (a third of cloudpickle's time).

    Anything else may name code a worker cannot import (a class of the flow's file,
    a lambda), so it goes through cloudpickle, which sends such code by value.
    """
    if attempt.run.state.data is None and all(map(_is_plain, attempt.parameters.values())):
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.dispatch_table = _FAST_REDUCERS
        pickler.dump(attempt)
        return buffer.getvalue()
    return dumps_keeping_files(attempt)


def _by_fields(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    """A reducer that rebuilds `cls` from its fields: a slotted dataclass's own `__getstate__`
    is Python code that lists its fields each time, most of the cost of an attempt's pickle."""
    values = operator.attrgetter(*(f.name for f in dataclasses.fields(cls)))
    return lambda obj: (cls, values(obj))


_FAST_REDUCERS: dict[Any, Any] = {
    **copyreg.dispatch_table,
    **{cls: _by_fields(cls) for cls in (Attempt, TaskCode, TaskRunRecord)},
}


def _is_plain(value: Any, depth: int = 0) -> bool:
    kind = type(value)
    if kind in _PLAIN:
        return True
    if depth > 4:
        return False
    if kind is list or kind is tuple or kind is set or kind is frozenset:
        return all(_is_plain(item, depth + 1) for item in value)
    if kind is dict:
        return all(_is_plain(k, depth + 1) and _is_plain(v, depth + 1) for k, v in value.items())
    return False


def _pickle_file_modules_by_value(task: TaskDefinition) -> None:
    """Code loaded from a flow file (not importable on workers) travels by value, classes too."""
    module = sys.modules.get(getattr(task.fn, "__module__", "") or "")
    if module is not None and module.__name__.startswith(FILE_MODULE_PREFIX):
        cloudpickle.register_pickle_by_value(module)
