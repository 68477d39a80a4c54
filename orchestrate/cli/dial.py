"""`orc dial-stdio`: join stdin and stdout to this project's daemon socket.

A client on another machine runs `ssh server orc dial-stdio` and speaks the
daemon's protocol over ssh's pipes (the Docker CLI pattern): ssh config,
agents and jump hosts work, and no port is opened.
"""

from __future__ import annotations

import os
import selectors
import socket
import sys

import typer

from orchestrate.cli.options import ProjectOption

_CHUNK = 256 * 1024


def dial_stdio(project: ProjectOption = None) -> None:
    """Pipe stdin and stdout to the project's daemon, until either side closes.

    Used by `ssh server orc dial-stdio`: clients given `--host ssh://…` run it
    on the server. When no daemon runs for the project it says so on stderr
    and exits non-zero, before reading anything.
    """
    from orchestrate.cli.exits import report
    from orchestrate.cli.options import project_folder
    from orchestrate.client.address import LocalAddress
    from orchestrate.client.unix import local_socket
    from orchestrate.core.errors import ClientError

    try:
        sock = local_socket(LocalAddress(project_folder(project)), timeout=5.0)
    except ClientError as error:
        raise typer.Exit(report(error)) from error
    with sock:
        sock.settimeout(None)
        pipe(sys.stdin.fileno(), sys.stdout.fileno(), sock)


def pipe(stdin: int, stdout: int, sock: socket.socket) -> None:
    """Copy stdin to `sock` and `sock` to stdout, unbuffered, until the socket closes.

    When stdin ends first the socket's sending half is shut, so the daemon
    still answers what it was asked before the connection ends.
    """
    with selectors.DefaultSelector() as selector:
        selector.register(stdin, selectors.EVENT_READ, "stdin")
        selector.register(sock, selectors.EVENT_READ, "socket")
        while True:
            for key, _ in selector.select():
                if key.data == "socket":
                    data = _receive(sock)
                    if not data or not _write_all(stdout, data):
                        return
                    continue
                data = os.read(stdin, _CHUNK)
                if data:
                    if not _send_all(sock, data):
                        return
                    continue
                selector.unregister(stdin)
                sock.shutdown(socket.SHUT_WR)


def _receive(sock: socket.socket) -> bytes:
    try:
        return sock.recv(_CHUNK)
    except ConnectionError:
        return b""


def _send_all(sock: socket.socket, data: bytes) -> bool:
    """Send everything, or False when the daemon has closed the connection."""
    try:
        sock.sendall(data)
    except ConnectionError:
        return False
    return True


def _write_all(fd: int, data: bytes) -> bool:
    """Write everything, or False when the reader (ssh) has gone."""
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view) :]
    except (BrokenPipeError, ConnectionResetError):
        return False
    return True
