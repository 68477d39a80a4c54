"""`DaskTaskRunner`: task run bodies on a Dask cluster; states, edges and logs stay in the flow process.

A task run's rules (`task_rules.task_steps`: inputs, cache, retries, final
state) advance here, in the flow process, driven by events rather than by a
thread per run. Each body attempt becomes one Dask task with its own key
(`attempts`). When it ends, its envelope (value or error, and what the
body logged and emitted) comes back to one thread, which records it and moves
the run on: the final state, or a retry after a delay kept on a timer; state
hooks run on a small pool. So a thousand task runs in flight cost a thousand
Dask futures, not a thousand threads.

An attempt's Dask task is released once its outcome is here, so Dask holds no
orc result it could decide to compute again. A worker that dies mid-attempt
fails that attempt with `WorkerLost`, and orc retries it under the task's
policy, recorded like any retry (see `cluster` for the scheduler setting
this relies on). A lost scheduler is different: no retry can reach it, so the
task runs in flight end Crashed, none is sent after, and the flow run ends
Crashed ("lost the Dask scheduler at ADDR").
"""

from __future__ import annotations

import concurrent.futures as cf
import contextvars
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

from orchestrate.core.records import EventRecord, LogRecord, Record
from orchestrate.core.states import Crashed, State
from orchestrate.engine.futures import PrefectFuture
from orchestrate.engine.logs import ROOT_LOGGER
from orchestrate.engine.outcomes import RunAborted
from orchestrate.engine.runners import TaskJob, TaskRunner, when_all_done
from orchestrate.engine.state_future import StateFuture
from orchestrate.engine.steps import CallBody, Outcome, Request, Sleep, Steps, _run_hooks_sync
from orchestrate.engine.task_engine import TaskRunJob
from orchestrate.engine.task_rules import task_steps
from orchestrate.integrations.dask.attempts import AttemptChannel, AttemptNotSent, attempt_error
from orchestrate.integrations.dask.cluster import ClusterChoice, DaskConnection, connect
from orchestrate.integrations.dask.collector import Outcomes
from orchestrate.integrations.dask.dashboard import announce
from orchestrate.integrations.dask.placement import submit_options
from orchestrate.integrations.dask.remote import Envelope

if TYPE_CHECKING:
    from distributed import Client

#: Results at least this big (bytes, as Dask estimates them) also stay on the worker that
#: made them, so a task run downstream placed there reads them without a second transfer.
KEEP_RESULTS_OVER = 1 << 20
_log = logging.getLogger("orc.dask")
#: Why `distributed` cancels every future of a client whose scheduler connection broke,
#: and the client states after that: reconnecting, then given up.
_SCHEDULER_GONE = "scheduler-connection-lost"
_CLIENT_GONE = frozenset({"connecting", "closing", "closed"})


class DaskTaskRunner(TaskRunner):
    """Runs task runs on a Dask cluster (Prefect's `prefect_dask.DaskTaskRunner`, same arguments).

    Only the task's function runs on the cluster. States, dependency edges, retries,
    caching and result persistence stay in the flow process, and what the function
    logs or prints comes back with its outcome. Functions and arguments travel with
    cloudpickle, so workers need the flow's imports (see docs/dask.md).

    Args:
        address: a running scheduler, `tcp://host:8786` (or `tls://…`). Without one (or a
            `cluster`), a cluster is started for each flow run and closed after it.
        cluster_class: the cluster to start when there is no address, a class or its
            dotted path (`"dask_jobqueue.SLURMCluster"`); `distributed.LocalCluster` by default.
        cluster_kwargs: keyword arguments for that cluster (`n_workers`, `threads_per_worker`,
            `dashboard_address`, …).
        client_kwargs: keyword arguments for `distributed.Client` (`security`, `timeout`, …).
        keep_results_over: results of at least this many bytes also stay on their worker for
            task runs downstream; None sends every input from the flow process.
        cluster: a running cluster object (`distributed.LocalCluster(...)`, a `KubeCluster`)
            to use as it is; it is not closed after the run. Unlike Prefect's, it is a
            synchronous cluster (`asynchronous=False`, the default).
        adapt_kwargs: scale the cluster with the load, `cluster.adapt(**adapt_kwargs)`
            (`{"minimum": 1, "maximum": 8}`); for a started or given cluster, not an address.

    Raises:
        ValueError: `address` with `cluster`, `cluster_class`, `cluster_kwargs` or
            `adapt_kwargs`, or `cluster` with `cluster_class` or `cluster_kwargs`.
    """

    def __init__(
        self,
        address: str | None = None,
        cluster_class: type | str | None = None,
        cluster_kwargs: dict[str, Any] | None = None,
        client_kwargs: dict[str, Any] | None = None,
        keep_results_over: int | None = KEEP_RESULTS_OVER,
        *,
        cluster: Any | None = None,
        adapt_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self._choice = ClusterChoice(
            address,
            cluster,
            cluster_class,
            dict(cluster_kwargs or {}),
            dict(adapt_kwargs or {}),
            dict(client_kwargs or {}),
        )
        self.keep_results_over = keep_results_over
        self._session: _Session | None = None

    @property
    def address(self) -> str | None:
        return self._choice.address

    @property
    def cluster_class(self) -> type | str | None:
        return self._choice.cluster_class

    @property
    def cluster_kwargs(self) -> dict[str, Any]:
        return self._choice.cluster_kwargs

    @property
    def adapt_kwargs(self) -> dict[str, Any]:
        return self._choice.adapt_kwargs

    @property
    def client_kwargs(self) -> dict[str, Any]:
        return self._choice.client_kwargs

    @property
    def cluster(self) -> Any | None:
        """The cluster object given, if any (one started per run is not kept here)."""
        return self._choice.cluster

    def __getstate__(self) -> dict[str, Any]:
        """A flow pickled while it runs (say, into a task) takes its settings, not its session."""
        return {
            **self.__dict__,
            "_session": None,
            "_choice": replace(self._choice, cluster=None),
        }

    def duplicate(self) -> DaskTaskRunner:
        """The same settings, the given cluster object too (`copy` would go by `__getstate__`)."""
        runner = type(self).__new__(type(self))
        runner.__dict__.update(self.__dict__, _session=None)
        return runner

    @property
    def running(self) -> bool:
        """Whether a flow run is using this runner now (it has a client)."""
        return self._session is not None

    @property
    def client(self) -> Client:
        """The `distributed.Client` of the flow run in progress."""
        if self._session is None:
            raise RuntimeError("The Dask task runner is not running: use its client in a flow run.")
        return self._session.client

    def __enter__(self) -> DaskTaskRunner:
        connection = connect(self._choice, warn=_warn_in_run)
        self._session = _Session(connection, self.keep_results_over)
        announce(connection.what, connection.scheduler, connection.dashboard)
        return self

    def __exit__(self, *exc_info: object) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.close()
            if session.lost:  # whatever the flow made of its crashed task runs, the run crashed
                raise session.scheduler_lost()

    def submit(self, job: TaskJob) -> PrefectFuture[Any]:
        if self._session is None:
            raise RuntimeError("The task runner is not running: submit tasks inside a flow run.")
        assert isinstance(job, TaskRunJob), "DaskTaskRunner runs the engine's task runs"
        return self._session.submit(job)

    def submit_many(self, jobs: Sequence[TaskJob]) -> list[PrefectFuture[Any]]:
        """A `.map()`: its attempts ready now leave at once, as one graph."""
        if self._session is None:
            raise RuntimeError("The task runner is not running: submit tasks inside a flow run.")
        assert all(isinstance(job, TaskRunJob) for job in jobs), "the engine's task runs only"
        return self._session.submit_many(jobs)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        cluster = self.cluster_class
        name = cluster if isinstance(cluster, str) else getattr(cluster, "__name__", None)
        return f"DaskTaskRunner({self.address or name or 'LocalCluster'!r})"


class _Outcome(StateFuture):
    """A task run's final state; waiting on it first sends the attempts still queued."""

    __slots__ = ("_hurry",)

    def __init__(self, hurry: Callable[[], None]) -> None:
        super().__init__()
        self._hurry = hurry

    def result(self, timeout: float | None = None) -> State:
        if self._state is None:
            self._hurry()
        return super().result(timeout)

    def add_done_callback(self, fn: Callable[[StateFuture], object]) -> None:
        if self._state is None:
            self._hurry()
        super().add_done_callback(fn)


class _RemoteRun:
    """One task run whose body attempts run on Dask; its steps advance in the flow process."""

    __slots__ = ("context", "job", "options", "outcome", "sent", "settled", "steps")

    def __init__(
        self,
        job: TaskRunJob,
        context: contextvars.Context,
        outcome: _Outcome,
        settled: Callable[[], None],
    ) -> None:
        self.job = job
        self.context = context
        self.options = submit_options(job.run.name)  # `dask.annotate(...)` around `.submit()`
        self.outcome = outcome
        self.settled = settled  # counts the run off once its outcome is set
        self.steps: Steps = task_steps(job)  # a generator: nothing runs before `resume`
        self.sent: dict[str, Any] = {}  # the parameters of the attempt in flight

    def resume(self, reply: Outcome | None, then: Callable[[_RemoteRun, Request], None]) -> None:
        """Send `reply` to the run's steps; `then` carries out what they ask for next."""
        self.context.run(self._advance, reply, then)

    def _advance(self, reply: Outcome | None, then: Callable[[_RemoteRun, Request], None]) -> None:
        try:
            request = self.steps.send(reply)
        except StopIteration as stop:
            self.settle(stop.value)
            return
        except BaseException as exc:  # the steps report run failures as states; this is a crash
            self.crash(exc)
            return
        then(self, request)

    def settle(self, state: State) -> None:
        try:
            self.outcome.set_result(state)
        finally:
            self.settled()

    def crash(self, exc: BaseException) -> None:
        if not self.outcome.done():
            self.settle(Crashed(message=f"{type(exc).__name__}: {exc}", data=exc))


class _Session:
    """One flow run on Dask: its task runs in flight, and the thread that moves them on."""

    def __init__(self, connection: DaskConnection, keep_over: int | None) -> None:
        self.connection = connection
        self.client = connection.client
        self._events: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._channel = AttemptChannel(self.client, self._post, self._finished, keep_over)
        self._attempts: dict[str, _RemoteRun] = {}
        #: Task runs started and not yet settled: a count, not their futures, so a settled
        #: run's future (and its result) lives only as long as the flow keeps it.
        self._unsettled = 0
        self._all_settled = threading.Condition(threading.Lock())
        self._lock = threading.Lock()
        self._hooks: cf.ThreadPoolExecutor | None = None
        self._address = connection.scheduler
        self.lost = False  # the scheduler went away: nothing more can run on it
        self._log_level = logging.getLogger(ROOT_LOGGER).getEffectiveLevel()
        self._thread = threading.Thread(target=self._move_on, name="orc-dask-runs", daemon=True)
        self._thread.start()

    def submit(self, job: TaskRunJob) -> PrefectFuture[Any]:
        return self.submit_many([job], send_now=False)[0]

    def submit_many(
        self, jobs: Sequence[TaskRunJob], send_now: bool = True
    ) -> list[PrefectFuture[Any]]:
        """Start these task runs; with `send_now`, the attempts of those ready leave at once."""
        with self._all_settled:
            self._unsettled += len(jobs)
        futures: list[PrefectFuture[Any]] = []
        ready: list[_RemoteRun] = []
        for job in jobs:
            outcome = _Outcome(self._channel.hurry)
            run = _RemoteRun(job, contextvars.copy_context(), outcome, self._count_off)
            if job.pending:
                when_all_done(job.pending, partial(self._post, partial(self._resume, run, None)))
            else:
                ready.append(run)
            futures.append(PrefectFuture(job.run, outcome))
        if not send_now:
            for run in ready:
                self._resume(run, None)
            return futures
        with self._channel.together():
            for run in ready:
                self._resume(run, None)
        return futures

    def _count_off(self) -> None:
        with self._all_settled:
            self._unsettled -= 1
            if not self._unsettled:
                self._all_settled.notify_all()

    def _resume(self, run: _RemoteRun, reply: Outcome | None) -> None:
        run.resume(reply, self._carry_out)

    def _carry_out(self, run: _RemoteRun, request: Request) -> None:
        if type(request) is CallBody:
            self._send(run, request.parameters)
        elif type(request) is Sleep:
            timer = threading.Timer(
                request.seconds, self._post, (partial(self._resume, run, None),)
            )
            timer.daemon = True
            timer.start()
        else:
            self._hook_pool().submit(self._run_hooks, run, request)

    def _run_hooks(self, run: _RemoteRun, request: Any) -> None:
        run.context.run(_run_hooks_sync, request)
        self._post(partial(self._resume, run, None))

    def _post(self, event: Callable[[], None]) -> None:
        self._events.put(event)

    def _move_on(self) -> None:
        """The one thread that handles ended attempts, timers, and upstreams being done,
        and sends the queued attempts when they are due."""
        while True:
            try:
                event = self._next_event()
            except queue.Empty:  # the queued attempts are due
                continue
            if event is None:
                return
            try:
                event()
            except BaseException:  # a bug here must not stop every other run
                _log.exception("orc could not move a task run on")
            finally:
                del event  # it may hold outcomes (results) while the next is awaited

    def _next_event(self) -> Callable[[], None] | None:
        channel = self._channel
        due = channel.due_in()
        if due == 0 or (due is not None and channel.soon and self._events.empty()):
            return channel.flush
        return self._events.get(timeout=due)

    def scheduler_lost(self) -> RunAborted:
        """Ends a task run, and the flow run, Crashed: retries cannot reach a scheduler that is gone."""
        return RunAborted("Crashed", f"The flow run lost the Dask scheduler at {self._address}.")

    def _lost_with(self, error: Any) -> bool:
        """Whether an attempt ended because the client lost its scheduler (not a worker)."""
        if not self.lost:
            reason = getattr(error, "reason", None)
            self.lost = reason == _SCHEDULER_GONE or self.client.status in _CLIENT_GONE
        return self.lost

    def _send(self, run: _RemoteRun, parameters: dict[str, Any], resend: bool = False) -> None:
        run.sent = parameters
        if self.lost:
            self._post(partial(self._resume, run, (None, self.scheduler_lost())))
            return
        try:
            key, payload, worker = self._channel.pack(
                run.job, parameters, self._log_level, resend, place=not run.options
            )
        except AttemptNotSent as error:
            self._post(partial(self._resume, run, (None, error)))
            return
        with self._lock:
            self._attempts[key] = run
        moving_on = threading.current_thread() is self._thread
        self._channel.send(key, payload, worker, run.options, soon=moving_on)

    def _finished(self, outcomes: Outcomes) -> None:
        """Attempts ended: record what their bodies said, and move their runs on."""
        for key, result in outcomes:
            with self._lock:
                run = self._attempts.pop(key, None)
            if run is None:  # already settled
                continue
            try:
                reply = self._reply(run, key, result)
            except BaseException as exc:
                run.crash(exc)
                continue
            if reply is not None:
                self._resume(run, reply)

    def _reply(self, run: _RemoteRun, key: str, result: Any) -> Outcome | None:
        job = run.job
        if not isinstance(result, Envelope):
            if self._lost_with(result):
                return None, self.scheduler_lost()
            return None, attempt_error(job, result)
        if result.missing:  # a kept input was not where the attempt ran: send the values
            self._send(run, run.sent, resend=True)
            return None
        _replay(job, result.records)
        if result.kept:
            self._channel.remember_kept(key, result, job.run.flow_run_id)
        return result.value, result.error

    def _hook_pool(self) -> cf.ThreadPoolExecutor:
        with self._lock:
            if self._hooks is None:
                self._hooks = cf.ThreadPoolExecutor(4, thread_name_prefix="orc-dask-hooks")
            return self._hooks

    def close(self) -> None:
        """Wait for every task run started here, then let go of the cluster."""
        try:
            with self._all_settled:  # runs may start more runs while we wait: they count too
                while self._unsettled:
                    self._channel.hurry()
                    self._all_settled.wait()
            if not self.lost:  # else they went with the scheduler; asking would only wait
                self._channel.drop_kept()
        finally:
            self._events.put(None)
            self._thread.join()
            if self._hooks is not None:
                self._hooks.shutdown(wait=True)
            self.connection.close()


def _replay(job: TaskRunJob, records: list[Record]) -> None:
    """Put what the body logged and emitted on the worker into this run's records."""
    sink, run = job.sink, job.run
    for record in records:
        if type(record) is LogRecord:
            if not record.flow_run_id:  # a line of a task called inside the body
                record = replace(record, flow_run_id=run.flow_run_id, task_run_id=run.id)
            _show(record, run.name)
        elif type(record) is EventRecord and run.flow_run_id:
            flow_run = {
                "orc.resource.id": f"orc.flow-run.{run.flow_run_id}",
                "orc.resource.role": "flow-run",
            }
            if flow_run not in record.related:
                record = replace(record, related=[*record.related, flow_run])
        sink.put(record)


def _show(record: LogRecord, run_name: str) -> None:
    """Print a worker's log line on this console as a line logged here would be (stored once)."""
    logger = logging.getLogger(record.logger)
    if not logger.isEnabledFor(record.level):
        return
    line = logging.makeLogRecord(
        {
            "name": record.logger,
            "levelno": record.level,
            "levelname": logging.getLevelName(record.level),
            "msg": record.message,
            "created": record.ts,
            "msecs": (record.ts % 1) * 1000,
            "orc_label": f"Task run {run_name!r} - ",
        }
    )
    logger.handle(line)  # no run ids on it, so the records handler leaves it alone


def _warn_in_run(message: str) -> None:
    """A warning about the cluster, in the flow run's logs when there is one."""
    from orchestrate.logging import MissingContextError, get_run_logger

    try:
        get_run_logger().warning(message)
    except MissingContextError:
        _log.warning(message)


__all__ = ["KEEP_RESULTS_OVER", "DaskTaskRunner"]
