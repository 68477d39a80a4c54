"""How a worker hears that its paused flow run was resumed: the daemon's `resume` notice.

A pause of an earlier attempt that was resumed (a suspended run started again)
is in the spec, so it passes at once; a pause now waits on the channel.
"""

from __future__ import annotations

from typing import Any

from orchestrate.worker.channel import Channel
from orchestrate.worker.spec import RunSpec


class ChannelGate:
    """The engine's `ResumeGate` for the worker's one flow run."""

    def __init__(self, channel: Channel, spec: RunSpec) -> None:
        self.channel = channel
        self.spec = spec

    def resumed_before(self, run_id: str, key: str) -> tuple[bool, dict[str, Any] | None]:
        if run_id != self.spec.flow_run_id or key not in self.spec.resumed:
            return False, None
        return True, self.spec.resumed[key]

    def wait(self, run_id: str, key: str, timeout: float | None) -> dict[str, Any] | None:
        return self.channel.wait_for_resume(key, timeout)


__all__ = ["ChannelGate"]
