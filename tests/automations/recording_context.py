"""An ActionContext that records what the actions asked of the daemon, standing in for it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orchestrate.core.records import EventRecord


class RecordingContext:
    """Keeps every call; `fail_on` names methods that raise, as a daemon refusing would."""

    def __init__(self, fail_on: set[str] | None = None) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.emitted: list[EventRecord] = []
        self.fail_on = fail_on or set()
        #: the automations each run asked for names (`automations.engine.causal_chain`)
        self.caused_by: list[list[str]] = []

    def _call(self, name: str, *args: Any) -> None:
        if name in self.fail_on:
            raise LookupError(f"{name} refused {args}")
        self.calls.append((name, *args))

    async def run_deployment(
        self, name: str, parameters: dict[str, Any], caused_by: Sequence[str] = ()
    ) -> str:
        self._call("run_deployment", name, parameters)
        self.caused_by.append(list(caused_by))
        return f"new-run-of-{name}"

    async def pause_deployment(self, name: str) -> None:
        self._call("pause_deployment", name)

    async def resume_deployment(self, name: str) -> None:
        self._call("resume_deployment", name)

    async def cancel_flow_run(self, flow_run_id: str) -> None:
        self._call("cancel_flow_run", flow_run_id)

    async def set_flow_run_state(self, flow_run_id: str, name: str, message: str | None) -> None:
        self._call("set_flow_run_state", flow_run_id, name, message)

    async def pause_automation(self, name: str) -> None:
        self._call("pause_automation", name)

    async def resume_automation(self, name: str) -> None:
        self._call("resume_automation", name)

    async def emit(self, event: EventRecord) -> None:
        self._call("emit", event.event)
        self.emitted.append(event)
