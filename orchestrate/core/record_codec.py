"""Records as JSON values and back: how workers and plain-Python flow runs ship them to the daemon.

Each record becomes `[kind, fields]`, kind one of `flow_run`, `task_run`,
`state`, `edge`, `log`, `event`, fields a dict named like the record's
attributes (so adding a field stays compatible). A state carries its type,
name, message and timestamp (a Scheduled one its due time too), and for a
failure the error's type, message and traceback text: what the store keeps.
Never a result or a pickled exception; those stay in the worker. A decoded
failure holds a `RecordedError` that reads like the original (`error_type` and
`str()`), so the store writes the same columns for it as for the exception itself.

This runs for every record a run produces, so it is plain dict building with
one function per kind; parameters and event payloads, the only user values,
are made JSON-safe on the way out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from orchestrate.core.jsonvalues import json_default, safe_repr
from orchestrate.core.records import (
    EdgeRecord,
    EventRecord,
    FlowRunRecord,
    LogRecord,
    Record,
    StateRecord,
    TaskRunRecord,
)
from orchestrate.core.states import State, StateType, format_exception


class RecordedError(Exception):
    """An exception known only from its record (type name, message, traceback), e.g. from a worker."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


# --- states ------------------------------------------------------------------------------


def encode_state(state: State) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "type": state.type.value,
        "name": state.name,
        "message": state.message,
        "timestamp": state.ts,
    }
    if state.scheduled_time is not None:
        fields["scheduled_time"] = state.scheduled_time
    exc = state.exception
    if exc is not None:
        fields["error_type"] = error_type_of(exc)
        fields["error_message"] = _safe_str(exc)
        fields["traceback"] = state.traceback or _traceback_of(exc)
    elif state.traceback is not None:
        fields["traceback"] = state.traceback
    return fields


def decode_state(fields: dict[str, Any]) -> State:
    state = State(
        _STATE_TYPES[fields["type"]],
        fields["name"],
        fields.get("message"),
        None,
        fields["timestamp"],
        fields.get("scheduled_time"),
    )
    error_type = fields.get("error_type")
    if error_type is not None:
        state.data = _remote_error(error_type, fields.get("error_message") or "")
    state.traceback = fields.get("traceback")
    return state


def error_type_of(exc: BaseException) -> str:
    """`ValueError`, or `module.Name` outside builtins: the store's `error_type` column."""
    if isinstance(exc, RecordedError):
        return exc.error_type
    name = type(exc).__qualname__
    module = type(exc).__module__
    return name if module in ("builtins", "__main__") else f"{module}.{name}"


_STATE_TYPES = {t.value: t for t in StateType}
_remote_classes: dict[str, type[RecordedError]] = {}


def _remote_error(error_type: str, message: str) -> RecordedError:
    """A `RecordedError` whose class is named like the original, so its type reads the same."""
    cls = _remote_classes.get(error_type)
    if cls is None:
        module, _, name = error_type.rpartition(".")
        cls = type(
            name, (RecordedError,), {"__module__": module or "builtins", "__qualname__": name}
        )
        _remote_classes[error_type] = cls
    return cls(error_type, message)


def _safe_str(value: Any) -> str:
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


def _traceback_of(exc: BaseException) -> str | None:
    if exc.__traceback__ is None:
        return None
    try:
        return format_exception(exc)
    except Exception:
        return None


# --- user values -------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """`value` as plain JSON values: models, dataclasses, dates and paths converted, the rest repr'd."""
    try:
        return json.loads(json.dumps(value, default=json_default))
    except Exception:
        return safe_repr(value)


# --- records -----------------------------------------------------------------------------


def _flow_run(r: FlowRunRecord) -> list[Any]:
    return [
        "flow_run",
        {
            "id": r.id,
            "name": r.name,
            "flow_name": r.flow_name,
            "parameters": jsonable(r.parameters),
            "state": encode_state(r.state),
            "created": r.created,
            "tags": list(r.tags),
            "parent_flow_run_id": r.parent_flow_run_id,
            "parent_task_run_id": r.parent_task_run_id,
            "deployment": r.deployment,
            "entrypoint": r.entrypoint,
            "flow_version": r.flow_version,
            "expected_start_time": r.expected_start_time,
            "start_time": r.start_time,
            "end_time": r.end_time,
            "run_count": r.run_count,
        },
    ]


def _task_run(r: TaskRunRecord) -> list[Any]:
    return [
        "task_run",
        {
            "id": r.id,
            "flow_run_id": r.flow_run_id,
            "name": r.name,
            "task_key": r.task_key,
            "dynamic_key": r.dynamic_key,
            "state": encode_state(r.state),
            "created": r.created,
            "kind": r.kind,
            "tags": list(r.tags),
            "parent_task_run_id": r.parent_task_run_id,
            "cache_key": r.cache_key,
            "start_time": r.start_time,
            "end_time": r.end_time,
            "run_count": r.run_count,
        },
    ]


def _state(r: StateRecord) -> list[Any]:
    return [
        "state",
        {
            "run_id": r.run_id,
            "flow_run_id": r.flow_run_id,
            "is_task": r.is_task,
            "state": encode_state(r.state),
        },
    ]


def _edge(r: EdgeRecord) -> list[Any]:
    return [
        "edge",
        {
            "flow_run_id": r.flow_run_id,
            "task_run_id": r.task_run_id,
            "upstream_id": r.upstream_id,
            "kind": r.kind,
        },
    ]


def _log(r: LogRecord) -> list[Any]:
    return [
        "log",
        {
            "flow_run_id": r.flow_run_id,
            "task_run_id": r.task_run_id,
            "ts": r.ts,
            "level": r.level,
            "logger": r.logger,
            "message": r.message,
        },
    ]


def _event(r: EventRecord) -> list[Any]:
    return [
        "event",
        {
            "id": r.id,
            "occurred": r.occurred,
            "event": r.event,
            "resource": jsonable(r.resource),
            "payload": jsonable(r.payload),
            "related": jsonable(r.related),
        },
    ]


_ENCODERS: dict[type, Callable[[Any], list[Any]]] = {
    LogRecord: _log,
    StateRecord: _state,
    TaskRunRecord: _task_run,
    EdgeRecord: _edge,
    FlowRunRecord: _flow_run,
    EventRecord: _event,
}


def encode_records(records: Iterable[Record]) -> list[list[Any]]:
    """Each record as `[kind, fields]`, ready for `json.dumps`."""
    encoders = _ENCODERS
    return [encoders[type(r)](r) for r in records]


def _decode_flow_run(f: dict[str, Any]) -> FlowRunRecord:
    return FlowRunRecord(
        f["id"],
        f["name"],
        f["flow_name"],
        f.get("parameters") or {},
        decode_state(f["state"]),
        f["created"],
        tuple(f.get("tags") or ()),
        f.get("parent_flow_run_id"),
        f.get("parent_task_run_id"),
        f.get("deployment"),
        f.get("entrypoint"),
        f.get("flow_version"),
        f.get("expected_start_time"),
        f.get("start_time"),
        f.get("end_time"),
        f.get("run_count", 0),
    )


def _decode_task_run(f: dict[str, Any]) -> TaskRunRecord:
    return TaskRunRecord(
        f["id"],
        f["flow_run_id"],
        f["name"],
        f["task_key"],
        f["dynamic_key"],
        decode_state(f["state"]),
        f["created"],
        f.get("kind", "task"),
        tuple(f.get("tags") or ()),
        f.get("parent_task_run_id"),
        f.get("cache_key"),
        f.get("start_time"),
        f.get("end_time"),
        f.get("run_count", 0),
    )


def _decode_state_record(f: dict[str, Any]) -> StateRecord:
    state = decode_state(f["state"])
    state.run_id = f["run_id"]
    return StateRecord(f["run_id"], f["flow_run_id"], f["is_task"], state)


def _decode_edge(f: dict[str, Any]) -> EdgeRecord:
    return EdgeRecord(f["flow_run_id"], f["task_run_id"], f["upstream_id"], f["kind"])


def _decode_log(f: dict[str, Any]) -> LogRecord:
    return LogRecord(
        f["flow_run_id"], f.get("task_run_id"), f["ts"], f["level"], f["logger"], f["message"]
    )


def _decode_event(f: dict[str, Any]) -> EventRecord:
    return EventRecord(
        f["id"],
        f["occurred"],
        f["event"],
        f["resource"],
        f.get("payload") or {},
        f.get("related") or [],
    )


_DECODERS: dict[str, Callable[[dict[str, Any]], Record]] = {
    "log": _decode_log,
    "state": _decode_state_record,
    "task_run": _decode_task_run,
    "edge": _decode_edge,
    "flow_run": _decode_flow_run,
    "event": _decode_event,
}


def decode_records(items: list[list[Any]]) -> list[Record]:
    """Records from `[kind, fields]` pairs; kinds this version does not know are skipped.

    Raises:
        ValueError: an item is not a `[kind, fields]` pair or lacks a required field.
    """
    decoders = _DECODERS
    records: list[Record] = []
    for position, item in enumerate(items):
        try:
            kind, fields = item
            decoder = decoders.get(kind)
            if decoder is not None:
                records.append(decoder(fields))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"Record {position} ({safe_repr(item)[:200]}) cannot be decoded: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    return records


__all__ = [
    "RecordedError",
    "decode_records",
    "decode_state",
    "encode_records",
    "encode_state",
    "jsonable",
]
