"""The event ids clients gave lately, so an event sent again (a retry after a timeout) counts once.

`orc emit` and `emit_event(id=…)` may name an event's id. A producer that sends
again when no answer came, with the same id, means the same event: it is stored
and shown to automations once. Ids the daemon makes itself are new by
construction and are not kept here.
"""

from __future__ import annotations

#: How many given ids are kept: a retry comes within seconds, not a hundred thousand events.
KEPT = 100_000


class GivenIds:
    """The last `KEPT` event ids clients gave, oldest forgotten first."""

    def __init__(self, kept: int = KEPT) -> None:
        self._ids: dict[str, None] = {}
        self._kept = kept

    def first_time(self, event_id: str) -> bool:
        """Whether `event_id` was not given lately; it is noted either way."""
        if event_id in self._ids:
            return False
        self._ids[event_id] = None
        if len(self._ids) > self._kept:
            del self._ids[next(iter(self._ids))]
        return True
