"""What a client is told about a deployment: its config, its live runs and slots, its parameters.

One shape for `deployments.list`, `deployments.get` and the pause and resume
answers. The parameter schema comes from the flow's source, which is parsed
only when the file has changed since it was last read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrate.daemon.signature import parameter_schema

if TYPE_CHECKING:
    from orchestrate.daemon.service import Daemon


class ParameterSchemas:
    """The parameter schema of each deployment's flow, read from its source (cached by mtime)."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._cached: dict[str, tuple[float, dict[str, Any] | None]] = {}

    def of(self, spec: Any) -> dict[str, Any] | None:
        """The flow's parameter schema, read from its source (cached until the file changes)."""
        path = self._root / spec.entrypoint.rpartition(":")[0]
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return None
        cached = self._cached.get(spec.entrypoint)
        if cached is None or cached[0] != mtime:
            cached = (mtime, parameter_schema(path, spec.entrypoint.rpartition(":")[2]))
            self._cached[spec.entrypoint] = cached
        return cached[1]


def deployment_info(
    daemon: Daemon, spec: Any, recent: list[Any], schema: dict[str, Any] | None
) -> dict[str, Any]:
    """`spec` with what the daemon knows of it now; `recent` are its last stored runs."""
    d = daemon
    return {
        "name": spec.name,
        "entrypoint": spec.entrypoint,
        "description": spec.description,
        "paused": d.table.is_paused(spec.name),
        "schedules": [s.model_dump() for s in spec.schedule_infos()],
        "next_run_time": _next_run_time(d, spec),
        "recent": [_brief_view(v) for v in recent],
        "tags": list(spec.tags),
        "parameters": dict(spec.parameters),
        "parameter_schema": schema,
        "concurrency_limit": spec.concurrency_limit,
        "collision_strategy": spec.collision_strategy,
        "running": sum(1 for i in d.handles if (r := d.book.get(i)) and r.deployment == spec.name),
        "blocked": d.table.blocked(spec.name),
        "skipped_slots": d.skipped[spec.name],
    }


def _next_run_time(daemon: Daemon, spec: Any) -> float | None:
    upcoming = [
        due
        for r in daemon.book.scheduled()
        if r.deployment == spec.name and (due := r.due_time()) is not None
    ]
    return None if daemon.table.is_paused(spec.name) or not upcoming else min(upcoming)


def _brief_view(view: Any) -> dict[str, Any]:
    start = view.start_time or view.created
    return {
        "id": view.id,
        "state_type": view.state.type,
        "state_name": view.state.name,
        "start_time": start.timestamp() if start else None,
    }
