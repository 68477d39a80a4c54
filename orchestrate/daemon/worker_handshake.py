"""The daemon's side of a worker's first lines: say our protocol, hear theirs (see
`orchestrate.worker.handshake`), before any spec goes out."""

from __future__ import annotations

import asyncio
import socket

from orchestrate.worker.handshake import Hello, our_line, parse

#: How long a worker may take to say hello: a cold one imports orc first, on a loaded machine.
HELLO_TIMEOUT = 60.0
#: A hello is a short line; a first line longer than this is not one.
MAX_HELLO = 4096
#: What a worker whose first line is not a hello speaks: the protocol before versions.
UNVERSIONED = Hello(0, "older than the protocol handshake", "")


class NoHello(Exception):
    """The worker said nothing within `HELLO_TIMEOUT`."""


async def exchange(sock: socket.socket, timeout: float = HELLO_TIMEOUT) -> Hello | None:
    """Send our hello and read the worker's; None if it closed first, `UNVERSIONED` if its first
    line is something else; `NoHello` on a timeout. Reads nothing past the hello's line."""
    loop = asyncio.get_running_loop()
    sock.setblocking(False)
    try:
        async with asyncio.timeout(timeout):
            await loop.sock_sendall(sock, our_line())
            line = await _first_line(sock)
    except TimeoutError as exc:
        raise NoHello(f"the worker did not say hello within {timeout:g}s") from exc
    except OSError:  # it died before reading ours
        return None
    if line is None:
        return None
    return parse(line) or UNVERSIONED


async def _first_line(sock: socket.socket) -> bytes | None:
    """The first line (peeked, then taken to its end only); None at end of file."""
    loop = asyncio.get_running_loop()
    while True:
        readable = loop.create_future()
        loop.add_reader(sock.fileno(), readable.set_result, None)
        try:
            await readable
        finally:
            loop.remove_reader(sock.fileno())
        try:
            seen = sock.recv(MAX_HELLO, socket.MSG_PEEK)
        except BlockingIOError:
            continue
        if not seen:
            return None
        end = seen.find(b"\n")
        if end >= 0 or len(seen) >= MAX_HELLO:
            return sock.recv(end + 1 if end >= 0 else MAX_HELLO)


__all__ = ["HELLO_TIMEOUT", "UNVERSIONED", "NoHello", "exchange"]
