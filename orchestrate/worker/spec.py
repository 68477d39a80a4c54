"""What a worker is told to run: one flow run, decided by the daemon, as a plain dataclass.

The daemon builds a `RunSpec`, the supervisor sends it as JSON, the worker
reads it back with `RunSpec.from_dict`, which checks every field's type and
says which one is wrong. A dataclass rather than a pydantic model: the worker
reads it before anything else, and its start time counts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from typing import Any

from orchestrate.core.records import FlowRunRecord
from orchestrate.core.states import Pending


class SpecError(ValueError):
    """A run spec that is not of the expected shape (a bug in whoever built it)."""


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One flow run for a worker.

    Args:
        flow_run_id: the id the daemon gave the run; every record carries it.
        flow_run_name: the run's name, or None to let the flow name it.
        deployment: the deployment the run belongs to.
        entrypoint: `"path.py:function"`, relative to `project_root`.
        parameters: the run's parameters as JSON values, validated by the flow.
        project_root: the project folder.
        working_dir: the folder the run starts in (`project_root` if None).
        env: variables set for the run, already resolved; never logged or stored.
        secrets: values masked as `***` in every record before it leaves the worker.
        timeout_seconds: the supervisor stops the run after this long.
        tags: tags of the flow run and its task runs.
        expected_start_time: when the run was due (seconds since the epoch).
        run_count: which attempt this is, from 1.
        task_runner: the deployment's task runner setting, if it has one.
        log_level: the level of the run's logs (`"DEBUG"`, `"INFO"`, …).
        flow_name: the flow's name as the daemon knows it (for records made before the flow loads).
        created: when the daemon created the run.
        journal: the file this attempt's records are appended to first (see `worker.journal`).
        subreaper: the worker adopts what the flow's processes orphan, so a cancel finds them
            (set where the daemon cannot give the run a cgroup of its own).
        preload: modules the daemon's zygote imports before forking this run's worker
            (the worker itself ignores it).
        resumed: the pauses of the run resumed before this attempt (a suspended run
            resumed), by key, with the input each was given: they pass at once.
        python: the interpreter the worker runs under (the deployment's `python` or `venv`);
            None for the daemon's own. The worker itself ignores it.
        pending_recorded: the daemon recorded this attempt's Pending as it dispatched it, so
            the worker goes on from there (an older worker ignores it and records it again).
        retried_until: the daemon retries a failure of an attempt numbered up to this (its
            `retries`; 0: none): `on_failure` hooks wait for the last attempt, as in Prefect.
    """

    flow_run_id: str
    deployment: str
    entrypoint: str
    project_root: str
    flow_run_name: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    working_dir: str | None = None
    env: dict[str, str] = field(default_factory=dict, repr=False)
    secrets: list[str] = field(default_factory=list, repr=False)
    timeout_seconds: float | None = None
    tags: list[str] = field(default_factory=list)
    expected_start_time: float | None = None
    run_count: int = 1
    task_runner: dict[str, Any] | str | None = None
    log_level: str = "INFO"
    flow_name: str | None = None
    created: float | None = None
    journal: str | None = None
    subreaper: bool = False
    preload: list[str] = field(default_factory=list)
    resumed: dict[str, Any] = field(default_factory=dict)
    python: str | None = None
    pending_recorded: bool = False
    retried_until: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The fields by name, for JSON: their values are shared, not copied (`asdict` copied
        every nested dict and list: ~25 µs a run on the daemon's loop)."""
        return {name: getattr(self, name) for name in _FIELD_NAMES}

    @classmethod
    def from_dict(cls, data: Any) -> RunSpec:
        """A spec from its JSON form; `SpecError` names the first field that does not fit."""
        if not isinstance(data, dict):
            raise SpecError(f"A run spec must be a JSON object, not {type(data).__name__}.")
        values = {k: v for k, v in data.items() if k in _KNOWN}
        missing = [name for name in _REQUIRED if name not in values]
        if missing:
            raise SpecError(f"The run spec lacks {', '.join(missing)}.")
        for name, value in values.items():
            if not _fits(name, value):
                raise SpecError(
                    f"Run spec field {name!r} must be {_TYPES[name][1]}, not {type(value).__name__} ({value!r:.80})."
                )
        if values.get("run_count", 1) < 1:
            raise SpecError("Run spec field 'run_count' counts attempts from 1.")
        return cls(**values)

    @property
    def default_flow_name(self) -> str:
        """The flow's name before the flow is loaded: the daemon's, else the function's, dashed."""
        if self.flow_name:
            return self.flow_name
        return self.entrypoint.rpartition(":")[2].replace("_", "-") or self.deployment

    def flow_run_record(self) -> FlowRunRecord:
        """The run as a Pending record, for a run whose flow never started (or a worker that died)."""
        now = time.time()
        return FlowRunRecord(
            id=self.flow_run_id,
            name=self.flow_run_name or self.flow_run_id,
            flow_name=self.default_flow_name,
            parameters=self.parameters,
            state=Pending(),
            created=self.created or now,
            tags=tuple(sorted(set(self.tags))),
            deployment=self.deployment,
            entrypoint=self.entrypoint,
            expected_start_time=self.expected_start_time,
            run_count=self.run_count,
        )


_FIELD_NAMES = tuple(f.name for f in fields(RunSpec))
#: Made once: `fields()` on every spec was half of `from_dict`'s time (~8 µs a run).
_KNOWN = frozenset(_FIELD_NAMES)

_STR = ((str,), "a string")
_OPT_STR = ((str, type(None)), "a string or null")
_NUMBER = ((int, float, type(None)), "a number or null")
_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "flow_run_id": _STR,
    "deployment": _STR,
    "entrypoint": _STR,
    "project_root": _STR,
    "flow_run_name": _OPT_STR,
    "parameters": ((dict,), "an object"),
    "working_dir": _OPT_STR,
    "env": ((dict,), "an object of strings"),
    "secrets": ((list,), "a list of strings"),
    "timeout_seconds": _NUMBER,
    "tags": ((list,), "a list of strings"),
    "expected_start_time": _NUMBER,
    "run_count": ((int,), "an integer"),
    "task_runner": ((dict, str, type(None)), "an object, a string or null"),
    "log_level": _STR,
    "flow_name": _OPT_STR,
    "created": _NUMBER,
    "resumed": ((dict,), "an object"),
    "journal": _OPT_STR,
    "subreaper": ((bool,), "true or false"),
    "preload": ((list,), "a list of module names"),
    "python": _OPT_STR,
    "pending_recorded": ((bool,), "true or false"),
    "retried_until": ((int,), "an integer"),
}
_REQUIRED = ("flow_run_id", "deployment", "entrypoint", "project_root")


def _fits(name: str, value: Any) -> bool:
    types, _ = _TYPES[name]
    if isinstance(value, bool) and bool not in types:  # True is an int to isinstance
        return False
    if not isinstance(value, types):
        return False
    items: Any = value
    if name in ("tags", "preload"):
        return all(isinstance(v, str) for v in items)
    if name == "env":
        return all(isinstance(k, str) and isinstance(v, str) for k, v in items.items())
    return True


__all__ = ["RunSpec", "SpecError"]
