"""A real SSH server on localhost for the `--host ssh://…` tests (asyncssh, in the test's loop),
and a pseudo-terminal to run `orc tui` in.

It accepts one client key, runs each command it is given as the current user
(through `sh -c`, as sshd does, with this interpreter's folder first on PATH so
`orc` is the one under test) and joins the command's stdin, stdout and stderr
to the session. The client is the system's own `ssh`, pointed at it through
`ORC_SSH` with that key and no known-hosts file.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import getpass
import os
import pty
import re
import shlex
import struct
import sys
import termios
import warnings
from dataclasses import dataclass, field
from pathlib import Path

with warnings.catch_warnings():
    # asyncssh still names DSA keys at import; cryptography warns that DSA is going. Not ours.
    warnings.filterwarnings("ignore", "DSA is deprecated")
    import asyncssh


@dataclass
class SshServer:
    """One listening server: where it is, how to reach it, and what it should do with a session."""

    port: int
    user: str
    client_key: Path
    #: When set, a session is cut (the TCP connection dropped) once this is set.
    cut: asyncio.Event | None = None
    sessions: list[str] = field(default_factory=list)
    _acceptor: asyncssh.SSHAcceptor | None = None

    def url(self, project: Path | None = None) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{project or ''}"

    def ssh_command(self) -> str:
        """The `ssh` argv (for `ORC_SSH`): this key only, no prompts, no known-hosts file."""
        options = [
            "-i",
            str(self.client_key),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-F",
            "/dev/null",
        ]
        return shlex.join(["ssh", *options])

    async def close(self) -> None:
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()


async def _run_command(server: SshServer, process: asyncssh.SSHServerProcess[bytes]) -> None:
    """Run the session's command here, as this user, its pipes joined to the session's."""
    command = process.command or "true"
    server.sessions.append(command)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    local = await asyncio.create_subprocess_exec(
        "/bin/sh",
        "-c",
        command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    await process.redirect(stdin=local.stdin, stdout=local.stdout, stderr=local.stderr)
    if server.cut is not None:
        await server.cut.wait()
        process.channel.get_connection().abort()  # the link drops: no exit status, no close
        local.kill()
        await local.wait()
        return
    process.exit(await local.wait())


async def start_server(folder: Path, *, authorized: bool = True) -> SshServer:
    """A server on a free localhost port that lets in the key written to `folder` (if `authorized`)."""
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    key_file = folder / "id_ed25519"
    client_key.write_private_key(str(key_file))
    key_file.chmod(0o600)
    let_in = client_key if authorized else asyncssh.generate_private_key("ssh-ed25519")
    allowed = asyncssh.import_authorized_keys(let_in.export_public_key().decode())
    server = SshServer(port=0, user=getpass.getuser(), client_key=key_file)

    async def handle(process: asyncssh.SSHServerProcess[bytes]) -> None:
        try:
            with contextlib.suppress(asyncssh.Error, OSError):
                await _run_command(server, process)
        finally:  # asyncssh's cleanup of the redirected pipes runs here
            with contextlib.suppress(asyncssh.Error, OSError):
                await process.wait_closed()

    acceptor = await asyncssh.listen(
        "127.0.0.1",
        0,
        server_host_keys=[host_key],
        authorized_client_keys=allowed,
        process_factory=handle,
        encoding=None,
    )
    server.port, server._acceptor = acceptor.get_port(), acceptor
    return server


_ESCAPES = re.compile(
    rb"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\\\)|[()][0-9A-Za-z]|[=>78])"
)


@dataclass
class Terminal:
    """A command in a pseudo-terminal of 120 by 40: what it draws, as text, and keys typed into it."""

    process: asyncio.subprocess.Process
    master: int
    seen: bytearray = field(default_factory=bytearray)
    _more: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    async def start(cls, argv: list[str]) -> Terminal:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
        )
        os.close(slave)
        terminal = cls(process, master)
        asyncio.get_running_loop().add_reader(master, terminal._read)
        return terminal

    def _read(self) -> None:
        try:
            self.seen += os.read(self.master, 65536)
        except OSError:  # the command ended and closed its side
            asyncio.get_running_loop().remove_reader(self.master)
        self._more.set()

    def text(self) -> str:
        return _ESCAPES.sub(b"", bytes(self.seen)).decode(errors="replace")

    async def wait_for(self, words: str, timeout: float) -> None:
        """Until `words` has been drawn; fails with what was drawn after `timeout` seconds."""

        async def seen() -> None:
            while words not in self.text():
                self._more.clear()
                await self._more.wait()

        try:
            await asyncio.wait_for(seen(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"{words!r} not drawn in {timeout}s:\n{self.text()[-3000:]}"
            ) from None

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self) -> None:
        with contextlib.suppress(ValueError, OSError):
            asyncio.get_running_loop().remove_reader(self.master)
        if self.process.returncode is None:
            self.process.kill()
        os.close(self.master)
