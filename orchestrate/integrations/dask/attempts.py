"""Attempts on the cluster: packing a body attempt for Dask, submitting in batches, collecting outcomes.

Submitting one Dask task at a time costs Dask about a millisecond each in the
flow process, and each graph sent costs the scheduler too; attempts queued
leave together as one graph (`client.map`) when the flow waits on one of them
or has queued nothing new for a moment, so a `.map()` leaves as one graph.
Outcomes come back in batches through `collector`.

Large results that a worker kept (`Envelope.kept`) are remembered here by
identity; an attempt whose inputs are all kept on one worker is sent with
markers in their place and asked to run on that worker.
"""

from __future__ import annotations

import copyreg
import dataclasses
import io
import operator
import pickle
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from typing import TYPE_CHECKING, Any

import cloudpickle

from orchestrate.core.records import TaskRunRecord
from orchestrate.integrations.dask.cluster import DaskError, WorkerLost
from orchestrate.integrations.dask.collector import Collector, Outcomes, gathers_direct
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
#: Attempts the flow queues leave together when it waits on one of them (a `.map()` then
#: leaves as one graph), once no other has joined them for this long (seconds), ...
QUIET = 0.02
#: ... or at the latest once the first of them has waited this long (seconds). Attempts
#: queued while runs move on (downstream runs, retries) leave once those events are handled.
HOLD_AT_MOST = 0.25
#: A `.map()` leaves in graphs of this many attempts while the rest are still being packed, so
#: workers start on the first while the flow process packs the others.
MAP_GRAPH = 500
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
        self._first_queued = self._last_queued = 0.0
        self._hurried = False  # a flush is on its way
        self._together = 0  # batches being queued (`together`): nothing leaves meanwhile
        self.soon = False  # an attempt queued while runs moved on: send once they have
        self._codes: dict[int, tuple[TaskDefinition, TaskCode]] = {}
        self._kept: dict[int, tuple[Any, str, str]] = {}  # id(result) -> (result, worker, key)
        self._kept_runs: set[str] = set()
        address = str(getattr(client.scheduler, "address", None) or "")
        direct = gathers_direct(address, client.direct_to_workers)
        self._collector = Collector(client, self._arrived, direct)  # only on the client's loop

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
        self,
        key: str,
        payload: bytes,
        worker: str | None,
        options: SubmitOptions | None = None,
        soon: bool = False,
    ) -> None:
        """Queue an attempt; it leaves with the next batch (`options`: Dask's, from annotations;
        `soon`: with the next batch the flow process's thread for moving runs on sends)."""
        now = time.monotonic()
        with self._lock:
            self._outbox.append((key, payload, worker, options or {}))
            self.soon = self.soon or soon
            first = len(self._outbox) == 1
            if first:
                self._first_queued = now
            self._last_queued = now
            full = self._together and len(self._outbox) >= MAP_GRAPH
        if full:  # in this thread, which would otherwise go on packing the map's next attempts
            self.flush()
        elif first and not soon:  # the thread that sends them may be waiting for anything else
            self._post(_nothing)

    @contextmanager
    def together(self) -> Iterator[None]:
        """Attempts queued inside leave together, in graphs of `MAP_GRAPH`, the last as soon
        as the block ends (a `.map()`); no timer sends part of them meanwhile."""
        with self._lock:
            self._together += 1
        try:
            yield
        finally:
            with self._lock:
                self._together -= 1
            self.hurry()

    def due_in(self) -> float | None:
        """Seconds until the queued attempts should leave (0: now); None when none is queued
        or while a batch is being queued (its end sends it)."""
        with self._lock:
            if not self._outbox or self._together:
                return None
            now = time.monotonic()
            return max(0.0, min(self._last_queued + QUIET, self._first_queued + HOLD_AT_MOST) - now)

    def hurry(self) -> None:
        """The flow waits on a task run: send what is queued now rather than when due."""
        with self._lock:
            if not self._outbox or self._hurried:
                return
            self._hurried = True
        self._post(self.flush)

    def flush(self) -> None:
        """Send the queued attempts to the cluster, as one graph where they allow."""
        with self._lock:
            outbox, self._outbox = self._outbox, []
            self._hurried = self.soon = False
        if not outbox:
            return
        try:
            futures = self._submit(outbox)
        except Exception as exc:  # the client is gone: every attempt of the batch ends here
            self._deliver([(entry[0], exc) for entry in outbox])
            return
        loop = self.client.loop
        assert loop is not None
        loop.add_callback(self._collector.watch, futures)

    def _arrived(self, outcomes: Outcomes) -> None:
        """On the client's loop: hand outcomes to the flow process's thread for moving runs on."""
        self._post(partial(self._deliver, outcomes))

    def _submit(self, outbox: list[_Outgoing]) -> list[Any]:
        """One graph for the attempts of each placement (anywhere, or as annotated or kept)."""
        large = [entry for entry in outbox if len(entry[1]) > SCATTER_OVER]
        if large:  # big inputs go as data, not inside the graph the scheduler keeps
            scattered = self.client.scatter([entry[1] for entry in large], hash=False)
            by_key = {entry[0]: data for entry, data in zip(large, scattered, strict=True)}
            outbox = [
                (key, by_key.get(key, payload), worker, options)
                for key, payload, worker, options in outbox
            ]
        futures: list[Any] = []
        for options, entries in _by_placement(outbox):
            keys, payloads = zip(*entries, strict=True)
            futures += self.client.map(run_attempt, payloads, key=list(keys), pure=False, **options)
        return futures

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


def _by_placement(outbox: list[_Outgoing]) -> list[tuple[SubmitOptions, list[Any]]]:
    """The attempts grouped by their `Client.map` options: the user's `dask.annotate`, or the
    worker keeping their inputs (run there if Dask can), or none."""
    groups: dict[Any, tuple[SubmitOptions, list[Any]]] = {}
    for key, payload, worker, options in outbox:
        if not options and worker is not None:
            options = {"workers": [worker], "allow_other_workers": True}
        same: Any = tuple(sorted((name, _frozen(value)) for name, value in options.items()))
        try:
            hash(same)
        except TypeError:  # an option Python cannot compare: the attempt goes on its own
            same = key
        groups.setdefault(same, (options, []))[1].append((key, payload))
    return list(groups.values())


def _frozen(value: Any) -> Any:
    """An option's value as a key of a dict (resources are a dict, workers a list)."""
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple | set):
        return tuple(_frozen(v) for v in value)
    return value


def _nothing() -> None:
    """An event that only makes the thread for moving runs on look at the queued attempts."""


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
