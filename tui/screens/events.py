"""`e`: the live event stream, newest first, with a filter."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Input, Static

from orchestrate.client.protocol import EventInfo
from tui.format import Clock
from tui.screens.help import HelpScreen
from tui.widgets.event_view import EventView
from tui.widgets.key_footer import KeyFooter
from tui.widgets.prompt import Prompt, opening_key, typing_into


class EventsScreen(Screen[None]):
    """Every event the daemon reports while the dashboard is open (and the latest before it)."""

    DEFAULT_CSS = """
    EventsScreen #title { height: 1; background: $panel; padding: 0 1; }
    EventsScreen Prompt { display: none; height: 3; }
    EventsScreen Prompt.open { display: block; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        opening_key("slash", "filter", "Filter"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, clock: Clock, source: Callable[[], Sequence[EventInfo]]) -> None:
        super().__init__()
        self.clock, self.source = clock, source

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="title")
        yield Prompt(placeholder="filter: words in the event name or resource", id="event-filter")
        yield EventView(self.clock, self.source, id="event-stream")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.stream.rows_changed()
        self.stream.focus()

    @property
    def stream(self) -> EventView:
        return self.query_one(EventView)

    def events_arrived(self) -> None:
        self.stream.rows_changed()

    def _title(self) -> str:
        stream = self.query(EventView)
        sort = stream.first().sorting.label() if stream else "time ↑"
        return f"[b]Events[/b] (live) · sorted by {sort} (o: next key, O: reverse)"

    @on(EventView.Sorted)
    def _sorted(self) -> None:
        self.query_one("#title", Static).update(self._title())

    @on(Input.Changed, "#event-filter")
    def _filter_changed(self, changed: Input.Changed) -> None:
        self.stream.words = changed.value
        self.stream.rows_changed()

    @on(Input.Submitted, "#event-filter")
    def _filter_done(self) -> None:
        self.query_one("#event-filter", Prompt).close(clear=False)

    def action_filter(self) -> None:
        typing_into(self.focused)
        self.query_one("#event-filter", Prompt).open(self.stream)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(readonly=False))

    def action_back(self) -> None:
        """Esc: clear the filter if it has a text, else go back (an open filter closes itself)."""
        prompt = self.query_one("#event-filter", Prompt)
        if prompt.value:
            prompt.close(clear=True)
            self.stream.focus()
            return
        self.dismiss()
