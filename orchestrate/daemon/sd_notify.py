"""systemd's notify protocol, with the standard library: READY, STOPPING and the watchdog.

Under a `Type=notify` unit systemd sets `$NOTIFY_SOCKET`; the daemon says
READY=1 once its socket answers, WATCHDOG=1 at half of `$WATCHDOG_USEC` while
its loop is alive, and STOPPING=1 when it begins to stop. Without the
variable every call is a no-op, so the daemon never needs to know how it was
started. `orc up --detach` uses the same message to learn the daemon is ready.
"""

from __future__ import annotations

import asyncio
import os
import socket

#: The environment variable systemd (or `orc up --detach`) names its socket in.
NOTIFY_SOCKET = "NOTIFY_SOCKET"


_address: str | None = None


def _notify_address() -> str | None:
    """The socket's address, taken out of the environment on first use so that the
    daemon's workers (and the flows they run) do not inherit it."""
    global _address
    if _address is None:
        _address = os.environ.pop(NOTIFY_SOCKET, "")
    return _address or None


def notify(message: str) -> bool:
    """Send `message` (e.g. "READY=1") to the notify socket; False when there is none."""
    address = _notify_address()
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # an abstract socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError:
        return False
    return True


def watchdog_interval() -> float | None:
    """How often to pet systemd's watchdog (half its timeout), or None when it has none."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2_000_000


async def watchdog() -> None:
    """Pet the watchdog for as long as the daemon's loop runs (a stuck loop gets restarted)."""
    interval = watchdog_interval()
    if interval is None:
        return
    while True:
        notify("WATCHDOG=1")
        await asyncio.sleep(interval)
