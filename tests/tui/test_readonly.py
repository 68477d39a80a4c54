"""The store's read-only view: a daemon that stays down still leaves what it stored on screen.

A real `orc up` runs a flow and stops; `orc store-stdio` then answers the
daemon's read methods from the file (the dashboard never opens DuckDB), and
refuses every change, saying why and how to start the daemon.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from orchestrate.client import AsyncClient
from orchestrate.client.aio import connect_store
from orchestrate.core.errors import Conflict, ConnectionLost
from tests.tui.conftest import FROZEN
from tests.tui.fake_daemon import FakeClient, FakeDaemon
from tests.tui.screen import notices, screen_text, wait_for_notice, wait_for_text, wait_until
from tests.tui.terminal import Terminal
from tests.tui.test_live_daemon import SLOW, orc
from tui.app import OrcApp
from tui.client import DashboardClient, Target, daemon_connector, store_connector
from tui.screens.main import MainScreen

SIZE = (120, 40)


async def a_finished_run(root: Path) -> str:
    """Run `fan` to its end on the project's daemon; its name."""
    async with await AsyncClient.connect(root, timeout=10) as client:
        run = await client.create_run("fan")
        for _ in range(int(SLOW / 0.1)):
            if (await client.run(run.id)).run.state.type == "COMPLETED":
                return run.name
            await asyncio.sleep(0.1)  # between polls of a run's state by the test itself
    raise AssertionError("fan did not complete")


@pytest.fixture
async def stored_project(live_daemon: Path) -> Path:
    """A project whose daemon ran `fan` once and has stopped."""
    name = await a_finished_run(live_daemon)
    (live_daemon / "run-name").write_text(name)
    await orc(live_daemon, "down")
    sock = live_daemon / ".orc" / "orc.sock"
    for _ in range(int(SLOW / 0.05)):
        if not sock.exists():
            return live_daemon
        await asyncio.sleep(0.05)  # the daemon removes its socket as it exits
    raise AssertionError("orc up did not stop")


async def test_store_stdio_answers_reads_and_refuses_changes(stored_project: Path) -> None:
    name = (stored_project / "run-name").read_text()
    async with await connect_store(stored_project) as client:
        assert client.server is not None and client.server.readonly
        runs = await client.runs()
        assert [r.name for r in runs] == [name] and runs[0].state.name == "Completed"
        detail = await client.run(runs[0].id)
        assert {t.name.rsplit("-", 1)[0] for t in detail.task_runs} == {"start", "square", "total"}
        assert {d.name for d in await client.deployments()} == {"fan", "slow", "nested"}
        with pytest.raises(Conflict, match=r"read-only view .* start it with `orc up --project"):
            await client.create_run("fan")


async def test_a_daemon_that_stays_down_gives_way_to_the_stores_read_only_view(
    stored_project: Path,
) -> None:
    name = (stored_project / "run-name").read_text()
    app = OrcApp(
        daemon_connector(Target(project=stored_project)),
        str(stored_project),
        retry_seconds=0.2,
        store=store_connector(Target(project=stored_project)),
        store_after=0.5,
    )
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_text(pilot, "read-only view of the store as of", timeout=SLOW)
        await wait_for_text(pilot, name, timeout=SLOW)  # the stored run
        text = screen_text(pilot.app)
        assert "the daemon is not running (since" in text and "● fan " in text
        assert "read-only" in text.splitlines()[0]  # the header says it too

        await pilot.press("1", "home", "r")  # a verb: refused, saying why and what to do
        await wait_for_notice(pilot, "read-only view", timeout=SLOW)
        assert any("orc up --project" in notice for notice in notices(pilot.app))
        assert isinstance(pilot.app.screen, MainScreen) and pilot.app.screen.store_view


async def test_the_daemon_coming_back_replaces_the_read_only_view(daemon: FakeDaemon) -> None:
    """Stand-ins for both ends (the real ones are above): the switch back is the app's own."""
    stored = FakeDaemon.canned()
    store_clients: list[FakeClient] = []

    async def connect() -> DashboardClient:
        if daemon.down:
            raise ConnectionLost("no orc daemon is running for /srv/demo; start it")
        return daemon.client()  # type: ignore[return-value]

    async def open_store() -> DashboardClient:
        store_clients.append(stored.client())
        return store_clients[-1]  # type: ignore[return-value]

    daemon.down = True
    app = OrcApp(
        connect, "/srv/demo", clock=FROZEN, retry_seconds=0.05, store=open_store, store_after=0.1
    )
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "read-only view of the store as of")
        assert "brave-fox" in screen_text(pilot.app)
        daemon.down = False
        await wait_until(
            pilot, lambda: "read-only view" not in screen_text(pilot.app), what="the daemon's view"
        )
        screen = pilot.app.screen
        assert isinstance(screen, MainScreen) and not screen.store_view
        assert "read-only" not in screen_text(pilot.app).splitlines()[0]
        assert store_clients[0].closed  # the store's reader ends


async def test_orc_tui_readonly_in_a_terminal_shows_the_store_at_once(stored_project: Path) -> None:
    """The command a user types with the daemon down: the stored run, read-only, then `q`."""
    name = (stored_project / "run-name").read_text()
    terminal = await Terminal.start(["orc", "tui", "--readonly", "--project", str(stored_project)])
    try:
        await terminal.wait_for("read-only view of the store", SLOW)
        await terminal.wait_for(name, SLOW)
        terminal.type("q")
        assert await asyncio.wait_for(terminal.process.wait(), SLOW) == 0
    finally:
        terminal.close()


def test_store_stdio_on_a_folder_that_is_not_there_says_so_and_exits_non_zero(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    missing = tmp_path / "nowhere"
    result = subprocess.run(
        [sys.executable, "-m", "orchestrate.cli", "store-stdio", "--project", str(missing)],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and result.stdout == ""
    assert f"no project folder at {missing}" in result.stderr and "--project" in result.stderr


async def test_a_store_that_cannot_be_read_is_said_once_and_goes_when_the_daemon_comes(
    daemon: FakeDaemon,
) -> None:
    tried: list[int] = []

    async def connect() -> DashboardClient:
        if daemon.down:
            raise ConnectionLost("no orc daemon is running for /srv/demo; start it")
        return daemon.client()  # type: ignore[return-value]

    async def no_store() -> DashboardClient:
        tried.append(1)
        raise ConnectionLost("no store at /srv/demo/.orc/orc.duckdb")

    daemon.down = True
    app = OrcApp(
        connect, "/srv/demo", clock=FROZEN, retry_seconds=0.05, store=no_store, store_after=0.1
    )
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_until(pilot, lambda: len(tried) >= 5, what="the store tried five times")
        said = [n for n in notices(pilot.app) if "Could not read the store" in n]
        assert len(said) == 1, said
        daemon.down = False
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, MainScreen), what="daemon")
        await wait_until(
            pilot,
            lambda: not any("Could not read the store" in n for n in notices(pilot.app)),
            what="the notice gone",
        )
