"""`orc tui`: connect to the daemon (or say plainly that none runs), then show the dashboard.

The app owns the connection. Until a daemon answers it shows the no-daemon
screen and retries on a timer; once connected it shows the main screen. If
the connection drops, the main screen keeps its last picture under a banner
while the app retries, and picks up the new connection with its selection,
filter and tab as they were. When no daemon answers for `store_after` seconds
(at once with `--readonly`), it shows the project's store through a read-only
client (`orc store-stdio`) under a banner, and keeps trying the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterable, Mapping
from typing import ClassVar

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.filter import NoColor
from textual.screen import Screen
from textual.timer import Timer

from orchestrate.core.errors import SshError
from tui import memory
from tui.client import CLIENT_ERRORS, Connector, DashboardClient, describe
from tui.format import Clock
from tui.messages import DaemonConnected, DaemonLost, DaemonUnreachable, StoreOpened
from tui.screens.main import MainScreen
from tui.screens.no_daemon import NoDaemonScreen
from tui.terminal import wants_no_colour

RETRY_SECONDS = 2.0
STORE_AFTER = 5.0  # seconds without a daemon before the store's read-only view opens
WIND_UP_SECONDS = 6.0  # a closing ssh is given 5 s to exit before it is killed (client/aio.py)


class OrcApp(App[None]):
    """The dashboard for one daemon.

    Args:
        connect: opens a client to the daemon (raises an `OrcError` or `OSError` if none answers).
        label: how to name the project (or host) on screen.
        start_hint: the command that starts a daemon for it, shown when none runs.
        clock: now and the time zone; tests freeze it.
        readonly: switch off every verb (run, cancel, retry, pause).
        retry_seconds: how often to try again while no daemon answers.
        environ: the environment that says whether colour is wanted (`NO_COLOR`, `TERM`).
        store: opens a read-only client of the project's store, for when no daemon runs.
        store_after: seconds without a daemon before `store` is used.
    """

    TITLE = "orc"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True)
    ]

    def __init__(
        self,
        connect: Connector,
        label: str,
        *,
        start_hint: str = "orc up",
        clock: Clock | None = None,
        readonly: bool = False,
        retry_seconds: float = RETRY_SECONDS,
        environ: Mapping[str, str] | None = None,
        store: Connector | None = None,
        store_after: float = STORE_AFTER,
    ) -> None:
        no_colour = wants_no_colour(os.environ if environ is None else environ)
        super().__init__(ansi_color=no_colour)
        if no_colour and not any(isinstance(f, NoColor) for f in self._filters):
            self._filters.append(NoColor())  # what Textual adds for NO_COLOR with ANSI colour
        self.connect = connect
        self.label, self.start_hint = label, start_hint
        self.clock = clock or Clock()
        self.readonly = readonly
        self.retry_seconds = retry_seconds
        self.client: DashboardClient | None = None
        self._retry: Timer | None = None
        self.store, self.store_after = store, store_after
        self._down_since: float | None = None  # when the daemon was first missed (clock time)
        self._down_at = 0.0  # the same, monotonic: how long it has been
        self._reading_store = False
        self._store_notice: str | None = None  # why the store could not be read, as last said

    def get_default_screen(self) -> Screen[None]:
        return NoDaemonScreen(self.label, self.start_hint)

    def on_mount(self) -> None:
        self.reconnect()

    # ---- connecting -----------------------------------------------------------------

    @work(exclusive=True, group="connect")
    async def reconnect(self) -> None:
        """Try once to reach the daemon; report the outcome as a message."""
        started = time.perf_counter()
        try:
            client = await self.connect()
        except CLIENT_ERRORS as error:
            self.post_message(DaemonUnreachable(describe(error), isinstance(error, SshError)))
            return
        self.post_message(DaemonConnected(client, (time.perf_counter() - started) * 1000))

    def action_reconnect(self) -> None:
        self.reconnect()

    @work(exclusive=True, group="store")
    async def open_store(self, down_since: float) -> None:
        """The store's read-only view, for a daemon that stays down."""
        assert self.store is not None
        try:
            client = await self.store()
        except CLIENT_ERRORS as error:
            self._reading_store = False  # tried again with the next retry, said only if it changed
            notice = f"Could not read the store: {describe(error)}"
            if notice != self._store_notice:
                self._store_notice = notice
                self.notify(notice, severity="error")
            return
        self.post_message(StoreOpened(client, down_since))

    @on(StoreOpened)
    def _store_opened(self, opened: StoreOpened) -> None:
        if self.client is not None or not self._reading_store:  # the daemon came back first
            self._close(opened.client)
            return
        self.client = opened.client
        main = self._main_screen()
        if main is None:
            main = MainScreen(opened.client, self.clock, self.readonly)
            self.push_screen(main)
        else:
            main.reconnected(opened.client)
        server = getattr(opened.client, "server", None)
        as_of = getattr(server, "started_at", None) or opened.down_since
        main.reading_the_store(as_of, opened.down_since)

    @on(DaemonConnected)
    def _connected(self, connected: DaemonConnected) -> None:
        self._stop_retrying()
        self._down_since = None
        if self._store_notice is not None:  # the daemon answers: the store's trouble is moot
            self._store_notice = None
            self.clear_notifications()
        if self._reading_store:  # the daemon is back: the store's view gives way
            self._reading_store = False
            if self.client is not None:
                self._close(self.client)
            if (main := self._main_screen()) is not None:
                main.left_the_store()
        self.client = connected.client
        main = self._main_screen()
        if main is not None:  # back after a loss: the same screen, its selection and filters
            main.reconnected(connected.client)
        else:
            self.push_screen(MainScreen(connected.client, self.clock, self.readonly))

    @on(DaemonUnreachable)
    def _unreachable(self, unreachable: DaemonUnreachable) -> None:
        if self._closing or not self.screen_stack:
            return  # quitting
        screen = self.screen
        if isinstance(screen, NoDaemonScreen):
            screen.show_reason(unreachable.reason, unreachable.over_ssh)
        if self._retry is None:
            self._retry = self.set_interval(self.retry_seconds, self.reconnect)
        if self._down_since is None:
            self._down_since, self._down_at = self.clock.now(), time.monotonic()
        if (
            self.store is not None
            and not self._reading_store
            and time.monotonic() - self._down_at >= self.store_after
        ):
            self._reading_store = True
            self.open_store(self._down_since)

    @on(DaemonLost)
    def _lost(self, lost: DaemonLost) -> None:
        """The daemon went away: keep the dashboard as it was, with a banner, and retry."""
        if lost.client is not None and lost.client is not self.client:
            return  # a late word about a connection already replaced
        client, self.client = self.client, None
        if not self.screen_stack or self._closing:
            return  # quitting
        if self._down_since is None:
            self._down_since, self._down_at = self.clock.now(), time.monotonic()
        self._reading_store = False  # the store's view, too, is tried again
        if client is not None:
            self._close(client)
        main = self._main_screen()
        if main is not None:
            main.connection_lost(lost.reason)
        if self._retry is None:
            self._retry = self.set_interval(self.retry_seconds, self.reconnect)

    def _main_screen(self) -> MainScreen | None:
        return next((s for s in self.screen_stack if isinstance(s, MainScreen)), None)

    @work(group="close")
    async def _close(self, client: DashboardClient) -> None:
        with contextlib.suppress(*CLIENT_ERRORS):  # it may be gone already
            await client.close()

    def _stop_retrying(self) -> None:
        if self._retry is not None:
            self._retry.stop()
            self._retry = None

    async def on_unmount(self) -> None:
        """However the app ends, the connection to the daemon is closed."""
        self._stop_retrying()
        memory.thaw()
        client, self.client = self.client, None
        if client is not None:
            with contextlib.suppress(*CLIENT_ERRORS):  # it may be gone already
                await client.close()
        await self._workers_wound_up()

    async def _workers_wound_up(self) -> None:
        """Let the workers cancelled as the app stopped finish their own cleanup, a while at most.

        Textual cancels workers without waiting; a connection attempt over ssh
        then still closes and reaps its `ssh`. Left to the loop's end, that
        child would outlive the dashboard unreaped.
        """
        waiting = [worker.wait() for worker in self.workers]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(WIND_UP_SECONDS):
                await asyncio.gather(*waiting, return_exceptions=True)

    # ---- the command palette ----------------------------------------------------------

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        if isinstance(screen, MainScreen):
            for title, help_text, action in screen.palette_commands():
                yield SystemCommand(
                    title, help_text, lambda action=action: screen.run_action(action)
                )
        yield from super().get_system_commands(screen)
