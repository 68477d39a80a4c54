"""The line under the header that says the screen may be stale: `connection lost — retrying (4s)`.

While connected it says instead that `flows.toml` has an error, where and why;
over the store's read-only view (no daemon), that the view is read-only and
as of when.

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
        self._store_note: Text | None = None

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
        if self._store_note is not None:
            self._show_store_note()
        else:
            self.config_error(self._config_error)

    def store_view(self, as_of: str, down_since: str) -> None:
        """The dashboard reads the store, not a daemon: say so, since when, and what is refused."""
        note = Text(f"read-only view of the store as of {as_of}", style="bold")
        note.append(
            f"  the daemon is not running (since {down_since}; retrying): "
            "run, cancel, retry and pause are refused until it is back"
        )
        self._store_note = note
        self.lost_at = None
        self._show_store_note()

    def leave_store_view(self) -> None:
        self._store_note = None
        self.remove_class("-shown")

    def _show_store_note(self) -> None:
        self.add_class("-shown", "-config")
        self.update(self._store_note or "")

    def config_error(self, error: str | None) -> None:
        """While connected: the last invalid flows.toml edit, where and why (the daemon keeps the last good one)."""
        self._config_error = error
        if self.lost_at is not None or self._store_note is not None:
            return  # the loss, or the read-only view, says more
        self.set_class(bool(error), "-shown", "-config")
        if error:
            text = Text("flows.toml is invalid, the last good config still runs: ", style="bold")
            text.append(" ".join(error.split()))
            self.update(text)
