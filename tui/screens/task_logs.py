"""A task run's logs, full screen, in the same viewer as a run's: `l` or enter on a task in the graph."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Static

from orchestrate.client.protocol import LogInfo, TaskRunInfo
from tui.format import Clock, state_text
from tui.screens.help import HelpScreen
from tui.state import LogBuffer
from tui.widgets.key_footer import KeyFooter
from tui.widgets.log_view import LogView


class TaskLogsScreen(Screen[None]):
    """One task run's log lines, followed live while the screen is open."""

    DEFAULT_CSS = """
    TaskLogsScreen #title { height: 1; background: $panel; padding: 0 1; }
    TaskLogsScreen LogView { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, task_run: TaskRunInfo, lines: list[LogInfo], clock: Clock) -> None:
        super().__init__()
        self.task_run, self.clock = task_run, clock
        self.buffer = LogBuffer(task_run.flow_run_id)
        self.buffer.extend(lines)

    def compose(self) -> ComposeResult:
        title = Text.assemble(("Logs of task run ", ""), (self.task_run.name, "bold"), "  ")
        title.append_text(state_text(self.task_run.state.name, self.task_run.state.type))
        yield Static(title, id="title")
        yield LogView(self.clock, id="task-log-view")
        yield KeyFooter()

    def on_mount(self) -> None:
        view = self.view
        view.file_stem = f"orc-{self.task_run.name}"
        view.show(self.buffer)
        view.focus()

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    def lines_arrived(self, lines: list[LogInfo]) -> None:
        """New lines of the run: this task run's are appended."""
        mine = [line for line in lines if line.task_run_id == self.task_run.id]
        if mine and self.buffer.extend(mine):
            self.view.appended()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(readonly=False))
