"""The store's read-only view over real SSH: `orc tui --host ssh://… --readonly`, and the fallback
when the daemon on the far side stays down.

A real `orc up` runs a flow there and stops; the dashboard then starts `orc
store-stdio` on the far side through the system `ssh` and an asyncssh server
on localhost, as it starts `orc dial-stdio`: nothing stands in for ssh.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from orchestrate.cli.tui import dashboard
from tests.tui.screen import notices, screen_text, wait_for_text, wait_until
from tests.tui.ssh_server import SshServer
from tests.tui.terminal import Terminal
from tests.tui.test_readonly import stored_project  # noqa: F401  (a fixture)
from tests.tui.test_ssh import SLOW, ssh_client, ssh_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(shutil.which("ssh") is None, reason="no ssh client installed")

SIZE = (120, 40)


async def test_readonly_over_ssh_shows_the_stored_runs_from_the_far_side(
    stored_project: Path,  # noqa: F811
    ssh_client: SshServer,  # noqa: F811
) -> None:
    name = (stored_project / "run-name").read_text()
    url = ssh_client.url(stored_project)
    async with dashboard(None, url, readonly=True).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "read-only view of the store as of", timeout=SLOW)
        await wait_for_text(pilot, name, timeout=SLOW)
        text = screen_text(pilot.app)
        assert "● fan " in text and "127.0.0.1" in text.splitlines()[0]
    assert f"orc store-stdio --project {stored_project}" in ssh_client.sessions


async def test_a_remote_daemon_that_stays_down_gives_way_to_the_remote_stores_view(
    stored_project: Path,  # noqa: F811
    ssh_client: SshServer,  # noqa: F811
) -> None:
    name = (stored_project / "run-name").read_text()
    url = ssh_client.url(stored_project)
    app = dashboard(None, url, readonly=False)
    app.store_after = 0.5
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "read-only view of the store as of", timeout=SLOW)
        await wait_for_text(pilot, name, timeout=SLOW)
        assert "the daemon is not running (since" in screen_text(pilot.app)
    assert f"orc dial-stdio --project {stored_project}" in ssh_client.sessions
    assert f"orc store-stdio --project {stored_project}" in ssh_client.sessions


async def test_no_store_on_the_far_side_names_the_host_and_the_cause(
    tmp_path: Path,
    ssh_client: SshServer,  # noqa: F811
) -> None:
    (tmp_path / "flows.toml").write_text('[project]\nname = "empty"\n')
    async with dashboard(None, ssh_client.url(tmp_path), readonly=True).run_test(
        size=SIZE, notifications=True
    ) as pilot:

        def told() -> bool:
            said = " ".join(notices(pilot.app))
            return "127.0.0.1" in said and f"no store at {tmp_path}" in said

        await wait_until(pilot, told, SLOW, "the host and 'no store at …'")
        assert "exit code None" not in " ".join(notices(pilot.app))


async def test_orc_tui_host_readonly_in_a_terminal_shows_the_remote_store(
    stored_project: Path,  # noqa: F811
    ssh_client: SshServer,  # noqa: F811
) -> None:
    """The command a user types: `orc tui --host ssh://… --readonly`, then `q`."""
    name = (stored_project / "run-name").read_text()
    url = ssh_client.url(stored_project)
    terminal = await Terminal.start(["orc", "tui", "--host", url, "--readonly"])
    try:
        await terminal.wait_for("read-only view of the store", SLOW)
        await terminal.wait_for(name, SLOW)
        terminal.type("q")
        assert await asyncio.wait_for(terminal.process.wait(), SLOW) == 0
    finally:
        terminal.close()
