"""The line under the header that says the screen may be stale: `connection lost — retrying (4s)`.

While connected it says instead that `flows.toml` has an error, where and why.

The rest of the screen keeps the last picture (a list that goes blank tells
nothing); the banner says how old it is and why, until the daemon answers.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.format import duration


class Banner(Static):
    """Hidden while connected; shown, red, with the time since the loss, while not."""

    DEFAULT_CSS = """
    Banner { display: none; height: 1; background: $error; color: $text; padding: 0 1; }
    Banner.-shown { display: block; }
    Banner.-config { background: $warning; color: $text; height: auto; max-height: 3; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lost_at: float | None = None
        self.reason = ""
        self._config_error: str | None = None

    def lost(self, reason: str, now: float) -> None:
        if self.lost_at is None:
            self.lost_at = now
        self.reason = reason
        self.remove_class("-config")
        self.add_class("-shown")
        self.tick(now)

    def tick(self, now: float) -> None:
        """Once a second while lost: the time since the connection went."""
        if self.lost_at is None:
            return
        since = max(0.0, now - self.lost_at)
        text = Text(
            f"connection lost — retrying ({int(since)}s)"
            if since < 60
            else f"connection lost — retrying ({duration(since)})",
            style="bold",
        )
        text.append(f"  {self.reason}  the screen shows what was last known")
        self.update(text)

    def restored(self) -> None:
        self.lost_at = None
        self.remove_class("-shown")
        self.config_error(self._config_error)

    def config_error(self, error: str | None) -> None:
        """While connected: the last invalid flows.toml edit, where and why (the daemon keeps the last good one)."""
        self._config_error = error
        if self.lost_at is not None:
            return  # the loss says more
        self.set_class(bool(error), "-shown", "-config")
        if error:
            text = Text("flows.toml is invalid, the last good config still runs: ", style="bold")
            text.append(" ".join(error.split()))
            self.update(text)
