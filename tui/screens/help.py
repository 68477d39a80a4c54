"""`?`: every key, in one place."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS: list[tuple[str, str]] = [
    ("tab / shift+tab", "next / previous pane: Deployments, Runs, Automations, the detail tab"),
    ("↑ ↓ j k, pgup pgdn, g G", "move in a list"),
    ("1 2 3", "jump to Deployments, Runs, Automations"),
    ("[ ]", "previous / next detail tab (Graph, Timeline, Logs, Parameters, Events)"),
    (
        "enter / space",
        "open the selection; in the graph, expand a group or subflow, or a task's logs",
    ),
    (
        "/",
        "filter runs (state:failed deployment:etl words…); in Logs, search; in the graph, find a task (n: next)",
    ),
    (
        ":",
        "command line: run NAME key=value, deploy NAME, cancel, retry, pause, logs (tab completes)",
    ),
    ("enter / esc in a filter", "leave it (enter keeps the text, esc clears it)"),
    ("r", "run the selected deployment now"),
    ("R", "run it with parameters (a form, checked before sending)"),
    ("c", "cancel the selected run (asks first)"),
    ("x", "retry the selected run"),
    (
        "p",
        "pause or resume the selected deployment or automation; resume a paused run with its input (a form)",
    ),
    ("f", "in the graph: the next failed task run (its group opens to show it)"),
    ("l", "in the graph: the selected task's logs, full screen (esc: back)"),
    (
        "f, v, w, t",
        "in Logs: follow new lines on/off, step the level filter, wrap long lines, times",
    ),
    ("E, s", "in Logs: the first error; save the lines shown to a file (0600, in this folder)"),
    ("← → (h l), home", "in Logs without wrap: scroll sideways, back to the first column"),
    ("o / O", "sort the focused table by its next key / reverse it (its title names the order)"),
    ("e", "the live event stream"),
    ("z", "zoom: the detail alone, full width (z again brings the lists back)"),
    ("ctrl+p", "command palette: every action by name"),
    ("esc", "back: close a dialog, clear a filter, return to the lists"),
    ("q", "quit"),
]


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90; max-width: 95%; height: auto; max-height: 90%;
        border: round $accent; padding: 0 1; background: $surface; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark,q", "dismiss", "Close")]

    def __init__(self, readonly: bool) -> None:
        super().__init__()
        self.readonly = readonly

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for keys, what in KEYS:
            table.add_row(keys, what)
        with VerticalScroll():
            yield Static(Text("orc tui: keys", style="bold"))
            yield Static(table)
            if self.readonly:
                yield Static(Text("read-only: r, R, c, x and p are off", style="magenta"))
