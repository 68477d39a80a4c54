"""Deployment and automation reads when no daemon runs: from flows.toml, `.orc/` and the store.

Right after a crash is when people most need `orc deployments ls`, so these
give the daemon's answer shapes from what it leaves on disk: the config, the
pauses in `.orc/paused.json`, the automations' saved state and the store's
runs. What only a live daemon knows (running workers, skipped slots, a
variable missing from its environment) reads as nothing.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrate.client.protocol import (
    NOT_FOUND,
    AutomationInfo,
    DeploymentDetail,
    DeploymentInfo,
)
from orchestrate.core.errors import AutomationNotFound, NotFound
from orchestrate.core.project import CONFIG_FILE, state_dir, store_path


def _config(root: Path) -> Any:
    from orchestrate.config import load_config

    return load_config(root / CONFIG_FILE)


def _recent(root: Path) -> dict[str, list[Any]]:
    from orchestrate.store.queries import Store

    with Store(store_path(root)) as store:
        return store.recent_by_deployment(10)


def _next_times(spec: Any, count: int) -> list[float]:
    from orchestrate.schedules import next_times

    tz = spec.timezone or "UTC"
    now = datetime.now(UTC)
    found = sorted(
        t for s in spec.schedules if s.active for t in next_times(s, now, count, default_tz=tz)
    )
    return [t.timestamp() for t in found[:count]]


def _brief(view: Any) -> dict[str, Any]:
    start = view.start_time or view.created
    return {
        "id": view.id,
        "state_type": view.state.type,
        "state_name": view.state.name,
        "start_time": start.timestamp() if start else None,
    }


def _info(spec: Any, paused: bool, recent: list[Any]) -> dict[str, Any]:
    upcoming = [] if paused else _next_times(spec, 1)
    return {
        "name": spec.name,
        "entrypoint": spec.entrypoint,
        "description": spec.description,
        "paused": paused,
        "schedules": [s.model_dump() for s in spec.schedule_infos()],
        "next_run_time": upcoming[0] if upcoming else None,
        "recent": [_brief(v) for v in recent],
        "tags": list(spec.tags),
        "parameters": dict(spec.parameters),
        "concurrency_limit": spec.concurrency_limit,
        "collision_strategy": spec.collision_strategy,
    }


def _table(root: Path) -> Any:
    from orchestrate.daemon.deployments import DeploymentTable

    return DeploymentTable(_config(root), state_dir(root, create=False))


def deployments(root: Path) -> list[DeploymentInfo]:
    """What `deployments.list` would answer, read from disk."""
    table = _table(root)
    recent = _recent(root)
    return [
        DeploymentInfo.model_validate(_info(s, table.is_paused(s.name), recent.get(s.name, [])))
        for s in table
    ]


def deployment(root: Path, name: str) -> DeploymentDetail:
    """What `deployments.get` would answer, read from disk."""
    from orchestrate.daemon.deployments import UnknownDeployment

    table = _table(root)
    try:
        spec = table.get(name)
    except UnknownDeployment:
        known = ", ".join(d.name for d in table) or "none"
        raise NotFound(
            NOT_FOUND, f"no deployment named {_quoted(name)} in flows.toml (deployments: {known})"
        ) from None
    info = _info(spec, table.is_paused(name), _recent(root).get(name, []))
    timezone = spec.timezone or "UTC"
    detail = info | {"next_times": _next_times(spec, 5), "timezone": timezone}
    return DeploymentDetail.model_validate(detail)


def _automation_engine(root: Path) -> Any:
    from orchestrate.automations.engine import AutomationEngine
    from orchestrate.automations.statefile import read_snapshot

    engine = AutomationEngine(_config(root).automations)
    try:
        snapshot = read_snapshot(state_dir(root, create=False) / "automations.json")
    except ValueError:
        snapshot = None
    if snapshot is not None:
        # an unreadable or older snapshot: they show as freshly started
        with contextlib.suppress(ValueError):
            engine.restore(snapshot)
    return engine


def automations(root: Path) -> list[AutomationInfo]:
    """What `automations.list` would answer: flows.toml plus the state the daemon saved."""
    return list(_automation_engine(root).describe_all())


def automation(root: Path, name: str) -> AutomationInfo:
    try:
        info: AutomationInfo = _automation_engine(root).describe(name)
    except AutomationNotFound:
        known = ", ".join(a.name for a in automations(root)) or "none"
        raise NotFound(
            NOT_FOUND,
            f"no automation is named {_quoted(name)} (known: {known}); see `orc automations ls`",
        ) from None
    return info


def _quoted(name: str) -> str:
    """A name as typed, cut short: a pasted wall of text stays a one-line message."""
    return repr(name) if len(name) <= 80 else repr(name[:80]) + "…"
