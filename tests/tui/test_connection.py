"""Losing the daemon: the last picture stays under a banner, and comes back as the user left it.

A daemon that stops closes its socket; one that hangs (or an ssh link that
drops) just goes quiet, and the heartbeat notices within 6 s. On reconnect
the same selection, filter and tab show, loaded afresh.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input
from textual.worker import Worker

from orchestrate.core.errors import ConnectionLost
from tests.tui.conftest import FROZEN, make_app
from tests.tui.fake_daemon import FakeClient, FakeDaemon
from tests.tui.screen import screen_text, wait_for_text, wait_until
from tui.app import OrcApp
from tui.client import DashboardClient, Target, daemon_connector
from tui.screens.main import MainScreen

SIZE = (120, 40)
BANNER = "connection lost — retrying"


class Switch:
    """Whether the stand-in daemon answers, and the clients it handed out."""

    def __init__(self, daemon: FakeDaemon) -> None:
        self.daemon, self.up, self.clients = daemon, True, list[FakeClient]()

    async def connect(self) -> DashboardClient:
        if not self.up:
            raise ConnectionLost("the orc daemon for /srv/demo closed the connection")
        client = self.daemon.client()
        self.clients.append(client)
        return client  # type: ignore[return-value]


def app_with(switch: Switch) -> OrcApp:
    return OrcApp(switch.connect, "/srv/demo", clock=FROZEN, retry_seconds=0.05)


async def test_a_daemon_that_stops_leaves_the_last_picture_under_a_banner(
    daemon: FakeDaemon,
) -> None:
    switch = Switch(daemon)
    async with app_with(switch).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "brave-fox")
        switch.up = False
        daemon.hang_up()
        await wait_for_text(pilot, BANNER, timeout=2.0)
        text = screen_text(pilot.app)
        assert "brave-fox" in text and "nightly-etl" in text  # the data stays
        assert "disconnected" in text and "up 2h03m" not in text  # no uptime ticking on
        assert text.count("closed the connection") == 1  # said once


async def test_a_busy_daemon_that_answers_in_3_seconds_is_not_taken_for_lost(
    daemon: FakeDaemon,
) -> None:
    """A burst of 5,000 tasks held a real daemon's hello 2.3 s; it is busy, not gone."""
    switch = Switch(daemon)
    async with app_with(switch).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "brave-fox")
        client = switch.clients[-1]
        answer = client.hello
        answered: list[float] = []

        async def slow_hello(*args: Any, **kwargs: Any) -> Any:
            await asyncio.sleep(3.0)  # the daemon's loop, busy for 3 s
            answered.append(time.monotonic())
            return await answer(*args, **kwargs)

        client.hello = slow_hello  # type: ignore[method-assign]
        await wait_until(pilot, lambda: len(answered) >= 2, 12.0, "two slow answers")
        assert BANNER not in screen_text(pilot.app)
        assert len(switch.clients) == 1  # no reconnection, no reload


async def test_a_daemon_that_hangs_is_noticed_within_6_seconds(daemon: FakeDaemon) -> None:
    switch = Switch(daemon)
    async with app_with(switch).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "brave-fox")
        switch.up = False
        hung = asyncio.Event()

        async def never(*_: Any, **__: Any) -> Any:
            await hung.wait()

        switch.clients[-1].status = never  # type: ignore[method-assign]
        switch.clients[-1].hello = never  # type: ignore[method-assign]
        started = time.monotonic()
        await wait_for_text(pilot, BANNER, timeout=8.0)
        assert time.monotonic() - started < 6.5
        assert "did not answer" in screen_text(pilot.app)


async def test_after_reconnecting_the_selection_filter_and_tab_are_as_they_were(
    daemon: FakeDaemon,
) -> None:
    switch = Switch(daemon)
    async with app_with(switch).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "brave-fox")
        screen = pilot.app.screen
        assert isinstance(screen, MainScreen)
        await pilot.press("slash", *"nightly", "enter")  # filter: brave-fox, calm-owl
        await pilot.press("down")  # calm-owl
        await wait_until(
            pilot, lambda: screen.detail is not None and screen.detail.run.name == "calm-owl"
        )
        await pilot.press("right_square_bracket", "right_square_bracket")  # Logs
        switch.up = False
        daemon.hang_up()
        await wait_for_text(pilot, BANNER, timeout=2.0)
        daemon.subscriptions.clear()
        switch.up = True
        await wait_until(pilot, lambda: BANNER not in screen_text(pilot.app), what="reconnected")
        await wait_until(pilot, lambda: len(daemon.subscriptions) == 2, what="subscribed again")
        assert pilot.app.screen is screen
        assert screen.query_one("#run-filter", Input).value == "nightly"
        assert "eager-yak" not in screen_text(pilot.app)
        assert screen.selection is not None and screen.selection.key == "run-0002"
        assert screen.query_one("#detail").active == "logs"  # type: ignore[attr-defined]
        assert "calm-owl · Failed" in screen_text(pilot.app)


async def test_a_refused_ssh_connection_names_the_host_and_the_cause(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORC_SSH", "ssh")
    target = Target(host="ssh://nobody@127.0.0.1:1")  # nothing listens on port 1
    app = OrcApp(daemon_connector(target), target.label, retry_seconds=30)
    async with app.run_test(size=SIZE) as pilot:
        seen: list[str] = []

        def told() -> bool:  # one screen that says all of it (notices come and go)
            seen.append(text := screen_text(app))
            return "Could not reach" in text and "127.0.0.1" in text and "refused" in text.lower()

        await wait_until(pilot, told, 15, "the host and the cause on screen")
        assert "No orc daemon is running" not in seen[-1]


#: Stand-ins for `ssh` first on PATH, as when a user's ssh fails and prints nothing: one exits
#: with ssh's own error status (as a config with `LogLevel QUIET` does), one is killed.
SILENT_SSH = {
    "exits 255": ("#!/bin/sh\nexit 255\n", "exited with status 255"),
    "killed": ("#!/bin/sh\nkill -KILL $$\n", "was killed by SIGKILL"),
}


@pytest.mark.parametrize("how", SILENT_SSH)
async def test_an_ssh_that_fails_without_a_word_is_named_with_its_command_and_what_to_check(
    how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script, ended = SILENT_SSH[how]
    (tmp_path / "ssh").write_text(script)
    (tmp_path / "ssh").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("ORC_SSH", raising=False)
    target = Target(host="ssh://ops@box.example:2222/srv/etl")
    app = OrcApp(daemon_connector(target), target.label, retry_seconds=30)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "Could not reach" in screen_text(app), 15, "the reason")
        said = " ".join(screen_text(app).replace("│", " ").split())  # the lines, unwrapped
        assert f"ssh to ops@box.example on port 2222 {ended}" in said, said
        assert "said nothing" in said and "no message" not in said
        assert (
            "ssh -T -o BatchMode=yes -p 2222 -- ops@box.example 'orc dial-stdio --project /srv/etl'"
            in said
        )
        assert "-v" in said  # how to see ssh's own reason


async def test_the_heartbeat_is_one_worker_for_the_connection_not_one_per_beat(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker's start and end are messages to the screen: once a second, a tenth of an idle dashboard."""
    monkeypatch.setattr("tui.screens.main.HEARTBEAT_SECONDS", 0.02)
    daemon = FakeDaemon.canned()
    started: list[Worker[Any]] = []

    def seen(message: object) -> None:
        if isinstance(message, Worker.StateChanged) and message.worker.group == "heartbeat":
            started.append(message.worker)

    async with make_app(daemon).run_test(size=SIZE, message_hook=seen) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await wait_until(pilot, lambda: daemon.asked["hello"] >= 10, what="ten heartbeats")
        assert len(set(started)) == 1
