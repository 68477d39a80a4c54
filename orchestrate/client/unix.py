"""Unix socket plumbing shared by the client, `orc dial-stdio` and the daemon's server.

A socket address holds at most ~107 bytes, and a project can sit deeper than
that. On Linux a longer path is reached through `/proc/self/fd/<n>/<name>`,
with `<n>` an open handle on the socket's folder, so any project path works.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrate.core.errors import ClientError, DaemonNotRunning

if TYPE_CHECKING:
    from orchestrate.client.address import LocalAddress

#: sun_path is 108 bytes on Linux and 104 on macOS, both counting the final NUL.
_ADDRESS_BYTES = 103
_PEERCRED = struct.Struct("3i")


@contextmanager
def address(path: Path) -> Iterator[str]:
    """A name for `path` short enough to bind or connect to, valid inside the `with`."""
    if len(os.fsencode(path)) <= _ADDRESS_BYTES or not os.path.isdir("/proc/self/fd"):
        yield os.fspath(path)
        return
    folder = os.open(path.parent, getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{folder}/{path.name}"
    finally:
        os.close(folder)


def connect(path: Path, timeout: float | None) -> socket.socket:
    """A blocking socket connected to `path` (raises the OSError of a failed connect)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        with address(path) as name:
            sock.connect(name)
    except BaseException:
        sock.close()
        raise
    return sock


def bind(path: Path, mode: int = 0o600) -> socket.socket:
    """A socket bound to `path` with `mode` set before it listens, so no one else can slip in."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with address(path) as name:
            sock.bind(name)
        os.chmod(path, mode)
    except BaseException:
        sock.close()
        raise
    return sock


def peer_pid(sock: socket.socket) -> int | None:
    """The pid of the process at the other end of `sock`, where the OS tells (SO_PEERCRED)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    try:
        pid, _uid, _gid = _PEERCRED.unpack(
            sock.getsockopt(socket.SOL_SOCKET, option, _PEERCRED.size)
        )
    except OSError:
        return None
    return pid or None


def local_socket(address: LocalAddress, timeout: float | None) -> socket.socket:
    """A socket connected to the project's daemon, or `DaemonNotRunning` when none listens."""
    path = address.socket
    try:
        return connect(path, timeout)
    except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError) as error:
        raise DaemonNotRunning(address.root) from error
    except OSError as error:
        raise ClientError(
            f"cannot connect to the orc daemon at {path}: {error.strerror or error}; "
            "check that it runs as your user (`ls -l` the socket)"
        ) from error
