"""A real SSH server on localhost for the `--host ssh://…` tests (asyncssh, in the test's loop).

It accepts one client key, runs each command it is given as the current user
(through `sh -c`, as sshd does, with this interpreter's folder first on PATH so
`orc` is the one under test) and joins the command's stdin, stdout and stderr
to the session. The client is the system's own `ssh`, pointed at it through
`ORC_SSH` with that key and no known-hosts file.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import shlex
import sys
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
    _open: int = 0  # sessions not yet closed
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

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

    async def sessions_closed(self, timeout: float) -> None:
        """Until every session has closed (a client that quit lets its command end), at most `timeout` s.

        Closing the server with a session still ending leaves asyncssh's
        cleanup of it to the loop's shutdown, which can wait forever.
        """
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self._open:
                    self._changed.clear()
                    await self._changed.wait()

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
        server._open += 1
        try:
            with contextlib.suppress(asyncssh.Error, OSError):
                await _run_command(server, process)
        finally:  # asyncssh's cleanup of the redirected pipes runs here
            with contextlib.suppress(asyncssh.Error, OSError):
                await process.wait_closed()
            server._open -= 1
            server._changed.set()

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
