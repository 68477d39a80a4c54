"""One flow run in a worker process: prepare the process, load the flow, run it, say how it ended.

Everything the run records goes to the process's sink (installed by
`__main__`), so every way out ends with the run in a final state on record:
an entrypoint that does not load or parameters that do not bind end Failed
before the flow starts; SIGTERM ends it Cancelled, or TimedOut when the
supervisor said so first.
"""

from __future__ import annotations

import _signal
import contextlib
import logging
import os
import signal
import sys
import time
from typing import TYPE_CHECKING, Any

from orchestrate.core.errors import OrcError, ParameterTypeError
from orchestrate.core.records import LogRecord
from orchestrate.core.runs import transition
from orchestrate.core.states import Failed, State, StateType, format_exception
from orchestrate.engine import sigterm
from orchestrate.engine.context import tags
from orchestrate.engine.flow_engine import FlowRunJob, RunAborted, RunPreset
from orchestrate.recording import get_sink
from orchestrate.worker import start_trace
from orchestrate.worker.entrypoints import add_import_folder

if TYPE_CHECKING:
    from orchestrate.flows import Flow
    from orchestrate.worker.channel import Channel
    from orchestrate.worker.spec import RunSpec


class Stopper:
    """Turns SIGTERM into `RunAborted` with the reason the supervisor sent just before it."""

    def __init__(self, channel: Channel | None = None) -> None:
        self.channel = channel  # None: no supervisor to say why (the zygote's rehearsal)
        self.requested: RunAborted | None = None

    def install(self) -> None:
        # `_signal`, as the zygote's child does: `signal.signal` turns the old and new handlers
        # into enums (a function handler through a ValueError), and a forked worker's first
        # calls of it touched ~40 pages of its zygote, ~0.13 ms of CPU for five calls a run
        _signal.signal(signal.SIGTERM, self._on_signal)

    def ignore(self) -> None:
        """From here on SIGTERM does nothing: the run has ended and its records must get out."""
        _signal.signal(signal.SIGTERM, _signal.SIG_IGN)

    def request(self) -> RunAborted:
        """The stop the supervisor asked for (once; later calls return the first)."""
        if self.requested is None:
            reason = self.channel.stop_reason() if self.channel is not None else None
            name, message = reason or ("Cancelled", None)
            if name not in ("Cancelled", "TimedOut", "Crashed"):
                name = "Cancelled"
            self.requested = RunAborted(name, message or "The worker was stopped (SIGTERM).")
        return self.requested

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self.requested is None:
            raise self.stop()

    def stop(self) -> RunAborted:
        """The stop asked for, taken for the whole process: nothing waits for task threads."""
        stop = self.request()
        sigterm.stopping(stop)
        return stop


def run(spec: RunSpec, stopper: Stopper) -> State:
    """Run the flow run `spec` describes, in this process; its final state."""
    try:
        prepare_process(spec)
        start_trace.mark("worker: process prepared")
        flow, parameters = _load(spec)
        start_trace.mark("worker: flow loaded")
    except OrcError as exc:
        if stopper.requested is not None:  # stopped while the user's module was importing
            return _end_unstarted(spec, stopper.requested.state())
        return _end_unstarted(spec, _failed(exc))
    except RunAborted as exc:
        return _end_unstarted(spec, exc.state())
    return execute(spec, flow, parameters, stopper)


def execute(
    spec: RunSpec, flow: Flow[..., Any], parameters: dict[str, Any], stopper: Stopper
) -> State:
    """Run the loaded `flow` as the flow run `spec` describes; its final state."""
    preset = RunPreset(
        id=spec.flow_run_id,
        name=spec.flow_run_name,
        deployment=spec.deployment,
        entrypoint=spec.entrypoint,
        created=spec.created,
        expected_start_time=spec.expected_start_time,
        run_count=spec.run_count,
        resuming=bool(spec.resumed),
        pending_recorded=spec.pending_recorded,
        retried_until=spec.retried_until,
    )
    job: FlowRunJob | None = None
    try:
        with tags(*spec.tags):
            job = FlowRunJob(flow, parameters, preset)
            if flow.is_async:
                import asyncio  # only async flows pay for loading it

                return asyncio.run(_execute_async(job, stopper))
            return job.execute_sync()
    except RunAborted as exc:
        return _end_unstarted(spec, exc.state()) if job is None else _end_aborted(job, exc)


def needs_a_fix(state: State) -> bool:
    """A failure no retry can fix: the flow did not load, or its parameters do not fit it.

    The worker exits with its own code for these, so the daemon ends the run
    Failed with the reason instead of spending retries on it.
    """
    return state.type is StateType.FAILED and isinstance(state.data, OrcError | ParameterTypeError)


def prepare_process(spec: RunSpec) -> None:
    """The run's environment, folder and import path; run logs to the sink only, not the console."""
    os.environ.update(spec.env)
    if spec.subreaper:
        _become_subreaper()
    os.environ["ORC_LOGGING_TO_CONSOLE"] = "0"  # stderr is captured into the run's logs already
    os.environ["ORC_LOGGING_LEVEL"] = spec.log_level
    os.environ.setdefault("ORC_HOME", spec.project_root)
    folder = os.path.join(spec.project_root, spec.working_dir or "")
    try:
        os.chdir(folder)
    except OSError as exc:
        raise OrcError(
            f"Deployment {spec.deployment!r} cannot start in {folder!r}: {exc.strerror}; "
            "fix working_dir in flows.toml (relative paths start at the project folder)."
        ) from exc
    # After the standard library's folders, as a flow file's folder: at the front a project
    # file named like a standard module (`numbers.py`) would replace it in this worker.
    add_import_folder(spec.project_root)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)  # each print reaches the run's logs at once


def _become_subreaper() -> None:
    """Adopt the flow's orphaned processes (PR_SET_CHILD_SUBREAPER), so a stop still finds
    a child that double-forked or started a session of its own."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)


def _load(spec: RunSpec) -> tuple[Flow[..., Any], dict[str, Any]]:
    """The flow (a plain function becomes one) with the spec's task runner, and its bound parameters."""
    from orchestrate.engine.params import bind_parameters
    from orchestrate.flows import Flow, flow
    from orchestrate.worker.entrypoints import load_flow

    loaded = load_flow(spec.entrypoint, spec.project_root)
    flow_obj: Flow[..., Any] = loaded if isinstance(loaded, Flow) else flow(loaded)
    if spec.task_runner is not None:
        flow_obj = flow_obj.with_options(task_runner=_task_runner(spec))
    return flow_obj, bind_parameters(flow_obj.fn, flow_obj.signature, (), spec.parameters)


def _task_runner(spec: RunSpec) -> Any:
    from orchestrate.worker.runners import task_runner_from_spec

    try:
        return task_runner_from_spec(spec.task_runner)
    except OrcError:
        raise
    except (TypeError, ValueError, ImportError) as exc:
        raise OrcError(
            f"Deployment {spec.deployment!r}: task_runner = {spec.task_runner!r} is not usable "
            f"({type(exc).__name__}: {exc}); fix it in flows.toml."
        ) from exc


async def _execute_async(job: FlowRunJob, stopper: Stopper) -> State:
    """An async run; SIGTERM cancels its body, which then ends in the stop's state."""
    import asyncio

    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    assert main is not None

    def on_sigterm() -> None:
        if job.aborted is None:
            job.aborted = stopper.stop()
            main.cancel()

    loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    try:
        return await job.execute_async()
    except asyncio.CancelledError:
        if job.aborted is None:
            raise
        return _end_aborted(job, job.aborted)
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        stopper.install()


def _end_aborted(job: FlowRunJob, exc: RunAborted) -> State:
    """A stop that landed outside the body (between retries, in a hook): record it unless final."""
    if not job.run.state.is_final():
        job.set_state(exc.state())
    return job.run.state


def _failed(exc: BaseException) -> State:
    state = Failed(message=str(exc), data=exc)
    state.traceback = format_exception(exc)
    return state


def _end_unstarted(spec: RunSpec, state: State) -> State:
    """Record a run whose flow never started, with why, as the engine would have."""
    sink = get_sink()
    record = spec.flow_run_record()
    if spec.pending_recorded:
        record.state.run_id = record.id  # the daemon's dispatch recorded this Pending
    else:
        transition(record, record.state, sink, initial=True)
    # A stop's state was made when the signal came, before this Pending: it must come after it.
    state.ts = max(state.ts, record.state.ts + 1e-6)
    transition(record, state, sink)
    message = f"Finished in state {state.name}: {state.message}"
    sink.put(LogRecord(record.id, None, time.time(), logging.ERROR, "orc.worker", message))
    return state


__all__ = ["Stopper", "prepare_process", "run"]
