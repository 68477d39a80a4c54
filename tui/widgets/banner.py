"""The line under the header that says the screen may be stale: `connection lost — retrying (4s)`.

While connected it says instead that the daemon cannot write its store (a
full disk: what it reads goes stale, and runs may be held), that
`flows.toml` has an error, where and why, or both; over the store's
read-only view (no daemon), that the view is read-only and as of when.

The rest of the screen keeps the last picture (a list that goes blank tells
nothing); the banner says how old it is and why, until the daemon answers.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.widgets import Static

from orchestrate.client.protocol import Status
from tui.format import duration


def store_words(status: Status, stamp: Callable[[float], str]) -> Text | None:
    """What `orc status` says as STORE DEGRADED and RUNS HELD, in a line; None while all is well.

    `stamp` writes a moment as the screen's clock shows it.
    """
    held = status.starts_held
    if status.store_health is None and not status.store_degraded:
        return None if not held else Text(f"runs held: {held}", style="bold")
    text = Text("store degraded: ", style="bold")
    health = status.store_health
    if health is None:  # a daemon that says it only in words
        text.append(status.store_degraded or "")
    else:
        since = f" since {stamp(health.since)}" if health.since is not None else ""
        text.append(f"{health.reason} — {health.waiting} records waiting{since}")
    if held:
        text.append("; runs held", style="bold")
    if status.runs_paused:  # their reading stopped: the flows that ran on wait too
        text.append("; running flows wait for it", style="bold")
    text.append("  kept in memory and retried; lists may be stale until it is written again")
    return text


class Banner(Static):
    """Hidden while all is well; shown, red, with the time since the loss, while not connected."""

    DEFAULT_CSS = """
    Banner { display: none; height: 1; background: $error; color: $text; padding: 0 1; }
    Banner.-shown { display: block; }
    Banner.-config { background: $warning; color: $text; height: auto; max-height: 3; }
    Banner.-store { height: auto; max-height: 4; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lost_at: float | None = None
        self.reason = ""
        self._config_error: str | None = None
        self._store_note: Text | None = None
        self._store_trouble: Text | None = None

    def lost(self, reason: str, now: float) -> None:
        if self.lost_at is None:
            self.lost_at = now
        self.reason = reason
        self.remove_class("-config", "-store")
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
            self._show_connected()

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
        self.remove_class("-store")
        self.add_class("-shown", "-config")
        self.update(self._store_note or "")

    def config_error(self, error: str | None) -> None:
        """While connected: the last invalid flows.toml edit, where and why (the daemon keeps the last good one)."""
        self._config_error = error
        self._show_connected()

    def store_trouble(self, words: Text | None) -> None:
        """While connected: the store the daemon cannot write, and runs held (`store_words`)."""
        self._store_trouble = words
        self._show_connected()

    def _show_connected(self) -> None:
        """The daemon's own trouble, while it answers.

        A store that cannot be written and an invalid flows.toml are apart and
        both true, so both show: the store first, red, since it makes every
        list stale and may hold runs, where the config error leaves the last
        good config running.
        """
        if self.lost_at is not None or self._store_note is not None:
            return  # the loss, or the read-only view, says more
        lines = [line for line in (self._store_trouble, self._config_text()) if line is not None]
        self.set_class(bool(lines), "-shown")
        self.set_class(self._store_trouble is not None, "-store")
        self.set_class(self._store_trouble is None and bool(lines), "-config")
        if lines:
            self.update(Text("\n").join(lines))

    def _config_text(self) -> Text | None:
        if not self._config_error:
            return None
        text = Text("flows.toml is invalid, the last good config still runs: ", style="bold")
        text.append(" ".join(self._config_error.split()))
        return text
