"""The deployments the daemon runs: the last good `flows.toml`, plus pauses made at run time.

`orc pause NAME` outlives a restart (kept in `.orc/paused.json`) until the
file's own `paused` for that deployment is edited, which wins: the file is
what people read, so an edit to it is the latest word.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrate.core.errors import DaemonError
from orchestrate.daemon.dispatch import DeploymentLimit, Limits


class UnknownDeployment(DaemonError):
    """A deployment name that is not in flows.toml."""


@dataclass(frozen=True)
class ConfigDiff:
    added: list[str]
    changed: list[str]
    removed: list[str]
    #: changed deployments whose schedules (or pause) changed: future runs re-planned
    rescheduled: list[str]

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)


class DeploymentTable:
    """Deployments by name, with the limits and effective pause state the dispatcher needs."""

    def __init__(self, config: Any, state_dir: Path) -> None:
        self.config = config
        self._by_name = {d.name: d for d in config.deployments}
        self._pause_file = state_dir / "paused.json"
        self._overrides: dict[str, bool] = self._load_overrides()

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Any]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    @property
    def project_name(self) -> str:
        return str(self.config.project.name)

    def get(self, name: str) -> Any:
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(sorted(self._by_name)) or "none"
            raise UnknownDeployment(
                f"No deployment named {name!r} in flows.toml (deployments: {known}). "
                "Check the name with `orc deployments ls`."
            ) from None

    def active(self, names: Iterable[str] | None = None) -> list[Any]:
        """Deployments whose schedules should be planned: not paused."""
        chosen = (
            self._by_name.values()
            if names is None
            else [self._by_name[n] for n in names if n in self._by_name]
        )
        return [d for d in chosen if not self.is_paused(d.name)]

    def is_paused(self, name: str) -> bool:
        if name in self._overrides:
            return self._overrides[name]
        deployment = self._by_name.get(name)
        return bool(deployment is not None and deployment.paused)

    def set_paused(self, name: str, paused: bool) -> None:
        self.get(name)
        self._overrides[name] = paused
        self._save_overrides()

    def limits(self) -> Limits:
        project = self.config.project
        per_deployment = {
            d.name: DeploymentLimit(d.concurrency_limit, d.collision_strategy)
            for d in self._by_name.values()
        }
        tags = dict(getattr(project, "tag_limits", None) or {})
        return Limits(project.max_concurrent_runs, per_deployment, tags)

    def blocked(self, name: str) -> str | None:
        """Why the deployment cannot run now (a `from_env` variable unset for orc up), or None."""
        reason = self.get(name).blocked_reason(os.environ)
        return None if reason is None else f"{reason[0].upper()}{reason[1:]}."

    def env(self, name: str) -> tuple[dict[str, str], list[str]]:
        """The deployment's environment, secrets read from the daemon's environment now,
        and the names of variables it asks for that are not set."""
        return self.get(name).environment(os.environ)

    def secret_values(self) -> list[str]:
        """The values masked in every run's records and the daemon's log, read from its env now."""
        return list(self.config.secret_values(os.environ))

    def replace(self, config: Any) -> ConfigDiff:
        """Take a new config; returns what changed, by deployment name."""
        old = self._by_name
        new = {d.name: d for d in config.deployments}
        changed = [n for n in new if n in old and _fingerprint(new[n]) != _fingerprint(old[n])]
        rescheduled = [n for n in changed if _schedule_print(new[n]) != _schedule_print(old[n])]
        for name in changed:
            if bool(new[name].paused) != bool(old[name].paused):
                self._overrides.pop(name, None)  # the file's latest word wins
        self.config, self._by_name = config, new
        self._save_overrides()
        return ConfigDiff(
            added=[n for n in new if n not in old],
            changed=changed,
            removed=[n for n in old if n not in new],
            rescheduled=rescheduled,
        )

    def _load_overrides(self) -> dict[str, bool]:
        try:
            data = json.loads(self._pause_file.read_text())
        except (OSError, ValueError):
            return {}
        return {str(k): bool(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _save_overrides(self) -> None:
        known = {k: v for k, v in self._overrides.items() if k in self._by_name}
        tmp = self._pause_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(known, sort_keys=True))
        tmp.replace(self._pause_file)


def _fingerprint(deployment: Any) -> str:
    return str(deployment.fingerprint())


def _schedule_print(deployment: Any) -> str:
    fields = {
        "schedules": [deployment.schedule_fingerprint(i) for i in deployment.schedule_ids],
        "parameters": dict(deployment.parameters),
        "paused": deployment.paused,
    }
    return json.dumps(fields, sort_keys=True, default=str)
