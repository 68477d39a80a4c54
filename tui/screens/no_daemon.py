"""What shows while no daemon answers: which project, why, and how to start one."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Footer, Static


class NoDaemonScreen(Screen[None]):
    """Says that no daemon runs for the project and how to start it; the app keeps retrying."""

    DEFAULT_CSS = """
    NoDaemonScreen Static#message { width: auto; max-width: 76; padding: 1 2; border: round $warning; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "app.quit", "Quit"),
        Binding("enter", "app.reconnect", "Retry now"),
    ]

    def __init__(self, label: str, start_hint: str) -> None:
        super().__init__()
        self.label = label
        self.start_hint = start_hint
        self.reason = "connecting…"

    def compose(self) -> ComposeResult:
        with Middle(), Center():
            yield Static(self._text(self.reason), id="message")
        yield Footer()

    def show_reason(self, reason: str, over_ssh: bool = False) -> None:
        self.reason = reason
        for message in self.query("#message").results(Static):
            message.update(self._text(reason, over_ssh))

    def _text(self, reason: str, over_ssh: bool = False) -> Text:
        if reason == "connecting…":
            return Text(f"Connecting to the orc daemon for {self.label}…")
        if over_ssh:  # ssh itself failed: say so, with what ssh said, not "no daemon"
            text = Text("Could not reach ", style="bold")
            text.append(self.label, style="bold cyan")
            text.append(" over ssh\n\n", style="bold")
            text.append(reason)
            text.append("\n\nThis screen retries on its own.")
            return text
        text = Text("No orc daemon is running for ", style="bold")
        text.append(self.label, style="bold cyan")
        text.append("\n\n")
        text.append(reason, style="dim")
        text.append("\n\nStart one in another terminal with:\n\n    ")
        text.append(self.start_hint, style="bold green")
        text.append(
            "\n\nThis screen retries on its own and opens the dashboard when the daemon answers."
        )
        return text
