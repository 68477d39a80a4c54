"""`orc tui --host ssh://…` over real SSH: an asyncssh server on localhost, the system `ssh`
client, `orc dial-stdio` on the far side and a real daemon behind it.

Nothing here stands in for ssh: the handshake, the key check, the remote
command and a dropped link are all the real thing, so what the dashboard says
when one fails is what a user would read.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.tui.screen import screen_text, wait_for_text, wait_until
from tests.tui.ssh_server import SshServer, start_server
from tests.tui.terminal import Terminal
from tui.app import OrcApp
from tui.client import Target, daemon_connector

pytestmark = pytest.mark.skipif(shutil.which("ssh") is None, reason="no ssh client installed")

SIZE = (120, 40)
SLOW = 30.0  # ssh logs in, the far side starts `orc dial-stdio`: a few seconds on a busy machine


@pytest.fixture
async def ssh_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SshServer]:
    server = await start_server(tmp_path_factory.mktemp("ssh"))
    yield server
    await server.sessions_closed(SLOW)
    await server.close()


@pytest.fixture
def ssh_client(ssh_server: SshServer, monkeypatch: pytest.MonkeyPatch) -> SshServer:
    """The system `ssh`, told to use the server's key (as a user's ssh config would)."""
    monkeypatch.setenv("ORC_SSH", ssh_server.ssh_command())
    return ssh_server


def app_over(url: str, retry_seconds: float = 30.0) -> OrcApp:
    return OrcApp(daemon_connector(Target(host=url)), url, retry_seconds=retry_seconds)


async def test_the_dashboard_reaches_a_real_daemon_over_real_ssh(
    live_daemon: Path, ssh_client: SshServer
) -> None:
    url = ssh_client.url(live_daemon)
    async with app_over(url).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "● slow ", timeout=SLOW)
        text = screen_text(pilot.app)
        assert "livetest" in text and "● fan " in text
        assert "on " + ssh_client.user + "@127.0.0.1" in text  # the header names the host
    assert ssh_client.sessions == [f"orc dial-stdio --project {live_daemon}"]


async def test_no_daemon_on_the_far_side_names_the_host_and_how_to_start_one(
    tmp_path: Path, ssh_client: SshServer
) -> None:
    (tmp_path / "flows.toml").write_text('[project]\nname = "idle"\n')
    async with app_over(ssh_client.url(tmp_path)).run_test(size=SIZE) as pilot:
        await wait_until(
            pilot,
            lambda: (
                "127.0.0.1" in screen_text(pilot.app)
                and "no orc daemon is running" in screen_text(pilot.app).lower()
            ),
            SLOW,
            "the host and 'no orc daemon is running'",
        )
        assert "exit code None" not in screen_text(pilot.app)


async def test_a_key_the_server_refuses_names_the_host_and_the_cause(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = await start_server(tmp_path_factory.mktemp("ssh"), authorized=False)
    monkeypatch.setenv("ORC_SSH", server.ssh_command())
    try:
        async with app_over(server.url(Path("/srv/demo"))).run_test(size=SIZE) as pilot:

            def told() -> bool:
                text = screen_text(pilot.app)
                return "127.0.0.1" in text and "Permission denied" in text

            await wait_until(pilot, told, SLOW, "the host and 'Permission denied'")
            assert "exit code None" not in screen_text(pilot.app)
        assert server.sessions == []  # refused before any command ran
    finally:
        await server.close()


async def test_a_link_that_drops_keeps_the_picture_and_names_the_host_and_the_cause(
    live_daemon: Path, ssh_client: SshServer
) -> None:
    ssh_client.cut = asyncio.Event()
    async with app_over(ssh_client.url(live_daemon)).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "● slow ", timeout=SLOW)
        ssh_client.cut.set()
        await wait_for_text(pilot, "connection lost — retrying", timeout=5.0)
        text = screen_text(pilot.app)
        assert "● slow " in text  # the last picture stays
        assert "127.0.0.1" in text and "closed" in text.lower(), text


async def test_orc_tui_host_in_a_terminal_shows_the_remote_project_and_quits_on_q(
    live_daemon: Path, ssh_client: SshServer
) -> None:
    """The command a user types, in a pseudo-terminal: `orc tui --host ssh://…`, then `q`."""
    terminal = await Terminal.start(["orc", "tui", "--host", ssh_client.url(live_daemon)])
    try:
        await terminal.wait_for("livetest", SLOW)
        await terminal.wait_for("slow", SLOW)
        terminal.type("q")
        assert await asyncio.wait_for(terminal.process.wait(), SLOW) == 0
    finally:
        terminal.close()


def _ssh_children() -> list[int]:
    """This process's `ssh` children not yet reaped (running or exited but not waited for)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
        except OSError:
            continue  # gone meanwhile
        name = fields[0].split("(", 1)[1]
        if name == "ssh" and int(fields[1].split()[1]) == os.getpid():
            found.append(int(stat.parent.name))
    return found


async def test_quitting_while_a_connection_is_tried_leaves_no_ssh_behind(
    tmp_path: Path, ssh_client: SshServer
) -> None:
    """The dashboard retries a far side with no daemon; quit mid-try: every ssh is waited for."""
    (tmp_path / "flows.toml").write_text('[project]\nname = "idle"\n')
    app = app_over(ssh_client.url(tmp_path), retry_seconds=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(
            pilot,
            lambda: "no orc daemon is running" in screen_text(pilot.app).lower(),
            SLOW,
            "'no orc daemon is running'",
        )
        await wait_until(pilot, lambda: bool(_ssh_children()), SLOW, "an ssh being tried again")
    assert _ssh_children() == []


ASKPASS = """#!/bin/sh
# Stands in for a password or host-key prompt: notes that ssh asked, and answers no.
echo "$*" >> "{asked}"
echo no
"""


async def test_ssh_never_prompts_and_its_own_reason_names_the_host(
    tmp_path: Path, ssh_server: SshServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host key ssh does not know yet would be asked about (over the dashboard, on a terminal;
    here through an askpass program forced on it); the dashboard never lets ssh ask, and shows
    ssh's own reason with the host named."""
    asked = tmp_path / "asked"
    askpass = tmp_path / "askpass"
    askpass.write_text(ASKPASS.format(asked=asked))
    askpass.chmod(0o755)
    (tmp_path / "known_hosts").write_text("")
    monkeypatch.setenv("SSH_ASKPASS", str(askpass))
    monkeypatch.setenv("SSH_ASKPASS_REQUIRE", "force")
    monkeypatch.setenv("DISPLAY", ":0")
    ssh = shlex.split(ssh_server.ssh_command())
    kept = [o for o in ssh if not o.startswith(("BatchMode", "StrictHostKeyChecking"))]
    no_batch = [o for i, o in enumerate(kept) if not (o == "-o" and kept[i + 1 : i + 2] == ["-o"])]
    no_batch += ["-o", f"UserKnownHostsFile={tmp_path / 'known_hosts'}"]
    monkeypatch.setenv("ORC_SSH", shlex.join(no_batch))
    async with app_over(ssh_server.url(tmp_path)).run_test(size=SIZE) as pilot:

        def told() -> bool:
            text = screen_text(pilot.app)
            return "127.0.0.1" in text and "Host key verification failed" in text

        await wait_until(pilot, told, SLOW, "the host and 'Host key verification failed'")
    assert not asked.exists(), f"ssh asked: {asked.read_text()}"


#: Stands in for a host that never answers: ssh connects through a proxy that takes what ssh
#: sends and never says a word back, so ssh waits for the server's greeting as it does for a
#: host whose packets are dropped. A real unroutable host is not used: whether one drops, refuses
#: or fails at once depends on the network the tests run on.
SILENT_PROXY = "ProxyCommand=sh -c 'cat >/dev/null'"


def _ssh_processes(marker: str) -> list[int]:
    """Every `ssh` process naming `marker` on its command line, whoever its parent is now."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile
        if argv and Path(argv[0].decode()).name == "ssh" and marker.encode() in b" ".join(argv):
            found.append(int(cmdline.parent.name))
    return found


async def test_attempts_given_up_on_a_silent_host_kill_their_ssh_and_quitting_leaves_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each retry gives up the attempt still waiting for the host: its ssh is killed then, not
    left waiting out a close that the next retry cuts short."""
    marker = f"never-answers-{os.getpid()}-{tmp_path.name}"
    monkeypatch.setenv("ORC_SSH", shlex.join(["ssh", "-F", "/dev/null", "-o", SILENT_PROXY]))
    monkeypatch.setattr("orchestrate.client.address.SSH_HANDSHAKE_SECONDS", 1.0)
    url = f"ssh://nobody@{marker}/srv/x"
    app = OrcApp(daemon_connector(Target(host=url), timeout=1.0), url, retry_seconds=0.2)
    seen: set[int] = set()
    most = 0
    async with app.run_test(size=SIZE) as pilot:

        def counted() -> bool:
            nonlocal most
            alive = _ssh_processes(marker)
            seen.update(alive)
            most = max(most, len(alive))
            return len(seen) >= 8

        await wait_until(pilot, counted, SLOW, "eight attempts")
    assert most <= 2, f"{most} ssh processes at once"
    assert _ssh_processes(marker) == []
