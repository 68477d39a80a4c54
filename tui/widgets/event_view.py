"""Events, newest first, as a list drawn on demand: `14:02:11 orc.flow-run.Failed  etl-brave-fox`.

Filtering thousands of kept events costs milliseconds, so a view that is not
on screen (its tab in the background) only notes that it is behind, and
catches up when it shows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text

from orchestrate.client.protocol import EventInfo
from tui.format import Clock, clock_time
from tui.sorting import Sorting, SortKey
from tui.widgets.row_list import SortableList

EVENT_SORT_KEYS: tuple[SortKey[EventInfo], ...] = (
    SortKey("time", lambda e: -e.occurred),  # natural: newest first
    SortKey("event", lambda e: (e.event, -e.occurred)),
    SortKey("resource", lambda e: (resource_name(e), -e.occurred)),
)


def resource_name(event: EventInfo) -> str:
    return (
        event.resource.get("orc.resource.name")
        or event.resource.get("name")
        or event.resource.get("orc.resource.id", "")
    )


def event_matches(event: EventInfo, words: str) -> bool:
    """Every word of `words` appears in the event's name, resource or related resources."""
    haystack = " ".join(
        [event.event, *event.resource.values(), *(v for r in event.related for v in r.values())]
    ).lower()
    return all(word in haystack for word in words.lower().split())


class EventView(SortableList):
    """The events a source gives (all of them, or those about the selection), filtered by words."""

    def __init__(
        self, clock: Clock, source: Callable[[], Sequence[EventInfo]], *, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.source = source
        self.words = ""
        self.sorting: Sorting[EventInfo] = Sorting(EVENT_SORT_KEYS)
        self._shown: list[EventInfo] = []
        self._behind = False

    def rows_changed(self) -> None:
        if not self.is_on_screen:
            self._behind = True
            return
        self._behind = False
        events = self.source()
        self._shown = [
            e for e in reversed(events) if not self.words or event_matches(e, self.words)
        ]
        if not self.sorting.natural:
            self._shown = self.sorting.apply(self._shown)
        super().rows_changed()

    def on_show(self) -> None:
        if self._behind:
            self.rows_changed()

    def row_count(self) -> int:
        return len(self._shown)

    def key_at(self, index: int) -> str | None:
        return self._shown[index].id if index < len(self._shown) else None

    def index_of(self, key: str) -> int | None:
        return next((i for i, e in enumerate(self._shown) if e.id == key), None)

    def empty_text(self) -> Text:
        return Text(
            "no events yet" if not self.words else "no event matches the filter", style="dim"
        )

    def render_row(self, index: int, width: int) -> Text:
        event = self._shown[index]
        text = Text(clock_time(event.occurred, self.clock) + " ", style="dim")
        colour = "red" if event.event.endswith(("Failed", "Crashed")) else "cyan"
        text.append(event.event, style=colour)
        text.append("  " + resource_name(event), style="dim")
        return text
