"""`e`: the live event stream, newest first, with a filter."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from orchestrate.client.protocol import EventInfo
from tui.format import Clock
from tui.widgets.event_view import EventView


class EventsScreen(Screen[None]):
    """Every event the daemon reports while the dashboard is open (and the latest before it)."""

    DEFAULT_CSS = """
    EventsScreen #title { height: 1; background: $panel; padding: 0 1; }
    EventsScreen Input { height: 3; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("slash", "filter", "Filter"),
    ]

    def __init__(self, clock: Clock, source: Callable[[], Sequence[EventInfo]]) -> None:
        super().__init__()
        self.clock, self.source = clock, source

    def compose(self) -> ComposeResult:
        yield Static("[b]Events[/b] (live, newest first)", id="title")
        yield Input(placeholder="/ filter: words in the event name or resource", id="event-filter")
        yield EventView(self.clock, self.source, id="event-stream")
        yield Footer()

    def on_mount(self) -> None:
        self.stream.rows_changed()
        self.stream.focus()

    @property
    def stream(self) -> EventView:
        return self.query_one(EventView)

    def events_arrived(self) -> None:
        self.stream.rows_changed()

    @on(Input.Changed, "#event-filter")
    def _filter_changed(self, changed: Input.Changed) -> None:
        self.stream.words = changed.value
        self.stream.rows_changed()

    @on(Input.Submitted, "#event-filter")
    def _filter_done(self) -> None:
        self.stream.focus()

    def action_filter(self) -> None:
        self.query_one("#event-filter", Input).focus()

    def action_back(self) -> None:
        if self.focused is self.query_one("#event-filter", Input) and self.stream.words:
            self.query_one("#event-filter", Input).value = ""
            self.stream.focus()
            return
        self.dismiss()
