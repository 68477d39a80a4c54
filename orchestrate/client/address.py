"""Where a client finds the daemon: a local socket, or a project on a server reached over ssh.

Over ssh the client runs `ssh [-p port] [user@]server orc dial-stdio [--project
path]` and speaks the same lines over its stdin and stdout (the Docker CLI
pattern), so ssh config, agents and jump hosts work and no port is opened.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

from orchestrate.core.errors import ClientError, ConnectionLost, DaemonNotRunning, SshError
from orchestrate.core.project import project_root as default_root
from orchestrate.core.project import socket_path

#: ssh may log in through a jump host or wait on an agent; a local socket answers at once.
SSH_HANDSHAKE_SECONDS = 30.0

_NO_DAEMON = re.compile(r"no orc daemon is running for (.+?); start it")


class _Value:
    """A frozen value compared by its type and fields, as a frozen dataclass is.

    Written out rather than made with `dataclasses`, which loads `inspect` (and
    `ast`, `dis`, `tokenize`): ~5 ms of each quick `orc status` went on that.
    """

    __slots__: tuple[str, ...] = ()

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((self.__class__, self._values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"{self.__class__.__name__}({fields})"

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{self.__class__.__name__} is frozen: cannot set {name!r}")

    def _init(self, **fields: object) -> None:
        for name, value in fields.items():
            object.__setattr__(self, name, value)


class LocalAddress(_Value):
    """The socket of a project on this machine."""

    __slots__ = ("root",)
    root: Path

    def __init__(self, root: Path) -> None:
        self._init(root=root)

    @property
    def socket(self) -> Path:
        return socket_path(self.root)

    def __str__(self) -> str:
        return str(self.root)


class SshAddress(_Value):
    """A project on a server, reached through `ssh … orc dial-stdio`."""

    __slots__ = ("destination", "port", "project")
    destination: str  # "user@server" or "server", as ssh takes it
    port: int | None
    project: str | None  # the project folder there; None lets the server decide

    def __init__(
        self, destination: str, port: int | None = None, project: str | None = None
    ) -> None:
        self._init(destination=destination, port=port, project=project)

    def argv(self, command: str = "dial-stdio") -> list[str]:
        """The command that opens the pipe: `$ORC_SSH` (or `ssh`), then the remote `orc`."""
        remote = ["orc", command, *(["--project", self.project] if self.project else [])]
        port = ["-p", str(self.port)] if self.port else []
        ssh = shlex.split(os.environ.get("ORC_SSH") or "ssh")
        # No prompt: a password or host-key question would draw over a dashboard and then
        # time out; with BatchMode ssh fails at once and says why. Options in ORC_SSH come
        # first, and ssh keeps an option's first value, so they can still say otherwise.
        batch = ["-o", "BatchMode=yes"]
        # ssh hands the remote command to a shell as one string, so quote it here.
        return [*ssh, "-T", *batch, *port, "--", self.destination, shlex.join(remote)]

    def __str__(self) -> str:
        port = f":{self.port}" if self.port else ""
        return f"ssh://{self.destination}{port}{self.project or ''}"


class StoreAddress(_Value):
    """A project's store read through `orc store-stdio` on this machine, when no daemon runs.

    The command answers the daemon's read methods from the file, read-only, so a
    client (the dashboard) shows what is stored without opening DuckDB itself.
    With `ssh`, the command runs on that server, over ssh as `orc dial-stdio` does.
    """

    __slots__ = ("root", "ssh")
    root: Path | None  # None over ssh: the project is the one `ssh` names (or the server's own)
    ssh: SshAddress | None

    def __init__(self, root: Path | None, ssh: SshAddress | None = None) -> None:
        self._init(root=root, ssh=ssh)

    def argv(self) -> list[str]:
        import sys

        if self.ssh is not None:
            return self.ssh.argv("store-stdio")
        assert self.root is not None
        return [sys.executable, "-m", "orchestrate.cli", "store-stdio", "--project", str(self.root)]

    def __str__(self) -> str:
        return f"{self.ssh if self.ssh is not None else self.root} (its store, read-only)"


Address = LocalAddress | SshAddress


def resolve(project_root: Path | None = None, host: str | None = None) -> Address:
    """The address for a project folder here, or for `host` (`ssh://[user@]server[:port][/path]`)."""
    if host:
        return parse_ssh(host, project_root)
    if project_root is None:
        return LocalAddress(default_root())
    return LocalAddress(project_root.expanduser().resolve())


def handshake_timeout(address: Address | StoreAddress, timeout: float | None) -> float | None:
    """How long to wait for the daemon's hello: longer over ssh, which has to log in first."""
    over_ssh = isinstance(address, SshAddress) or (
        isinstance(address, StoreAddress) and address.ssh is not None
    )
    if timeout is not None and over_ssh:
        return max(timeout, SSH_HANDSHAKE_SECONDS)
    return timeout


def parse_ssh(host: str, project_root: Path | None = None) -> SshAddress:
    """`ssh://user@server:22/srv/etl` (or plain `user@server`) as an `SshAddress`."""
    url = urlsplit(host if "://" in host else f"ssh://{host}")
    try:
        port = url.port
    except ValueError:
        port = -1
    if url.scheme != "ssh" or not url.hostname or port == -1:
        raise ClientError(
            f"cannot reach a daemon at {host!r}: expected ssh://[user@]server[:port][/path/to/project]"
        )
    destination = f"{url.username}@{url.hostname}" if url.username else url.hostname
    project = url.path or (str(project_root) if project_root else None)
    return SshAddress(destination, port, project)


def ssh_failure(
    address: SshAddress, returncode: int | None, stderr: str, command: str = "dial-stdio"
) -> ClientError:
    """What went wrong when `ssh … orc dial-stdio` (or `command`) closed before (or while) answering."""
    said = stderr.strip()
    server = address.destination.rpartition("@")[2]
    if found := _NO_DAEMON.search(said):
        return DaemonNotRunning(found.group(1), host=server)
    if returncode == 127 or "command not found" in said or "orc: not found" in said:
        return SshError(
            f"orc is not installed on {server} (or not on PATH for non-interactive ssh): "
            f"`{' '.join(address.argv(command)[-1:])}` failed there. Install orc on {server}, or put its "
            "folder on PATH in a file non-interactive shells read (e.g. ~/.bashrc before its "
            f"interactive check, or ~/.ssh/environment). ssh said: {said or 'nothing'}"
        )
    if returncode == 0:
        return ConnectionLost(f"the orc daemon at {address} closed the connection")
    if not said:
        return SshError(_silent_failure(address, returncode, command))
    if returncode == 255:
        return SshError(f"ssh to {address.destination} failed: {said}")
    if returncode is not None and returncode < 0:
        return SshError(f"ssh to {address.destination} {_ended(returncode)}: {said}")
    return SshError(f"`orc {command}` on {server} stopped (exit code {returncode}): {said}")


def _silent_failure(address: SshAddress, returncode: int | None, command: str) -> str:
    """ssh ended and said nothing: how it ended, the command it was, and what to check."""
    server = address.destination.rpartition("@")[2]
    port = f"port {address.port}" if address.port else "ssh's default port"
    if returncode is not None and returncode < 0:
        why = (
            "Something outside orc stopped it (the out-of-memory killer, a session or container "
            "ending, a wrapper's time limit)."
        )
    elif returncode == 255:
        why = (
            f"Status 255 is ssh's own: it could not connect or log in. Check that {server} "
            f"resolves and takes ssh on {port}, and that a key for it is loaded (ssh runs with "
            "BatchMode=yes, so it cannot ask for a password or to trust a new host key)."
        )
    else:
        why = f"Status {returncode} is that of `orc {command}` on {server}."
    return (
        f"ssh to {address.destination} on {port} {_ended(returncode)} and said nothing on "
        f"stderr. It ran: {shlex.join(address.argv(command))}. {why} Run that command in a "
        "terminal, with -v after ssh, to see why."
    )


def _ended(returncode: int | None) -> str:
    """How a process ended, in words: its exit status, or the signal that killed it."""
    if returncode is None:
        return "stopped"
    if returncode >= 0:
        return f"exited with status {returncode}"
    import signal  # only when ssh was killed: a quick `orc status` never needs it

    try:
        return f"was killed by {signal.Signals(-returncode).name}"
    except ValueError:
        return f"was killed by signal {-returncode}"
