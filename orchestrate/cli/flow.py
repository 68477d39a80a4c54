"""`orc flow run PATH.py:FN`: run a flow once, here, in this process, and record it."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestrate.cli.options import ProjectOption
from orchestrate.cli.params import run_parameters
from orchestrate.core.errors import ParameterError
from orchestrate.core.project import given_project

if TYPE_CHECKING:
    from orchestrate.core.records import FlowRunRecord, Record, RecordSink
    from orchestrate.core.states import State

app = typer.Typer(help="Run flows.", no_args_is_help=True)


@app.command("run")
def run_flow(
    entrypoint: Annotated[str, typer.Argument(help="PATH.py:FUNCTION, the flow to run.")],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="key=value; the value is parsed as JSON if it can be."),
    ] = None,
    params_json: Annotated[
        str | None, typer.Option("--params", help="All parameters as one JSON object.")
    ] = None,
    project: ProjectOption = None,
) -> None:
    """Run a flow once in this process and record it in the project's store."""
    parameters = _as_typed(entrypoint, run_parameters(param or [], params_json), param or [])
    home = os.environ.get("ORC_HOME")
    if project is not None:  # where the run records; put back after, for callers in-process
        os.environ["ORC_HOME"] = str(given_project(project))
    try:
        flow_obj = _load(entrypoint)
        watch = _watch_runs()
        started = time.monotonic()
        try:
            state: State = flow_obj(**parameters, return_state=True)
        finally:
            _flush(watch)
    finally:
        if home is None:
            os.environ.pop("ORC_HOME", None)
        else:
            os.environ["ORC_HOME"] = home
    if isinstance(state.exception, ParameterError):
        raise state.exception
    print(_summary(state, watch.top_run, getattr(flow_obj, "name", entrypoint), started))
    raise typer.Exit(0 if state.is_completed() else 1)


def _as_typed(entrypoint: str, parameters: dict[str, Any], pairs: list[str]) -> dict[str, Any]:
    """`parameters` with the `-p` values the flow takes as strings given as typed
    (`-p day=20261201` for `day: str`), read from the flow's source."""
    from orchestrate.cli.params import param_texts
    from orchestrate.config.signature import parameter_schema, strings_as_typed

    texts = param_texts(pairs)
    if not texts:
        return parameters
    path, _, function = entrypoint.rpartition(":")
    return strings_as_typed(parameter_schema(Path(path), function), parameters, texts)


def _load(entrypoint: str) -> Any:
    """The flow the entrypoint names; a plain function is wrapped with `@flow`."""
    from orchestrate.flows import Flow, flow
    from orchestrate.worker.entrypoints import load_flow

    loaded = load_flow(entrypoint, Path.cwd())
    return loaded if isinstance(loaded, Flow) else flow(loaded)


class _RunWatch:
    """A pass-through sink that remembers the top-level flow run, for the summary line."""

    def __init__(self, inner: RecordSink) -> None:
        self.inner = inner
        self.top_run: FlowRunRecord | None = None

    def put(self, record: Record) -> None:
        if self.top_run is None and _is_top_run(record):
            self.top_run = record  # type: ignore[assignment]
        self.inner.put(record)

    def flush(self, timeout: float | None = None) -> bool:
        return self.inner.flush(timeout)

    def close(self) -> None:
        self.inner.close()


def _is_top_run(record: Record) -> bool:
    from orchestrate.core.records import FlowRunRecord

    return type(record) is FlowRunRecord and record.parent_task_run_id is None


def _watch_runs() -> _RunWatch:
    from orchestrate.recording import get_sink, set_sink

    watch = _RunWatch(get_sink())
    set_sink(watch)
    return watch


def _flush(watch: _RunWatch) -> None:
    """Make the run durable before the process exits; say so if the store would not take it."""
    import sys

    from orchestrate.recording import set_sink

    set_sink(watch.inner)
    if not watch.inner.flush(10):
        print("Warning: the run could not be recorded in the store within 10 s.", file=sys.stderr)


def _summary(state: State, run: FlowRunRecord | None, fallback: str, started: float) -> str:
    name = run.name if run is not None else fallback
    took = time.monotonic() - started
    if run is not None and run.start_time is not None and run.end_time is not None:
        took = run.end_time - run.start_time
    ident = f" ({run.id})" if run is not None else ""
    message = f": {state.message}" if state.message and not state.is_completed() else ""
    return f"Flow run {name!r}{ident} finished in state {state.name} after {took:.2f}s{message}"
