"""`orc up --detach`: the daemon in the background, its log in `.orc/orc.log`, rotated.

The parent starts `orc up` in a session of its own with stdin closed and
stdout/stderr on the log file, then waits for the child's READY=1 on a notify
socket of its own (the message systemd would get), so it returns only once
the daemon answers, or reports why it did not start with the log's tail.
"""

from __future__ import annotations

import logging.handlers
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from orchestrate.core.errors import DaemonError
from orchestrate.core.project import log_path, state_dir
from orchestrate.daemon.sd_notify import NOTIFY_SOCKET

#: The log rotates at this size and keeps this many old files (orc.log.1 … orc.log.5).
LOG_BYTES = 10 * 1024 * 1024
LOG_BACKUPS = 5


class RotatingLog(logging.handlers.RotatingFileHandler):
    """The detached daemon's log; after a rollover stdout and stderr follow the new file,
    so a stray print or a crash's traceback lands beside the records."""

    def __init__(self, path: Path, max_bytes: int = LOG_BYTES) -> None:
        super().__init__(path, maxBytes=max_bytes, backupCount=LOG_BACKUPS, encoding="utf-8")
        self._follow()

    def doRollover(self) -> None:
        super().doRollover()
        self._follow()

    def _follow(self) -> None:
        if self.stream is not None:
            sys.stderr.flush()
            for fd in (1, 2):
                os.dup2(self.stream.fileno(), fd)


def start_detached(root: Path, args: list[str], timeout: float = 60.0) -> int:
    """Start `orc up ARGS` for `root` in the background; its pid once it is ready.

    Raises:
        DaemonError: it exited first (its log's tail says why) or was not ready in time.
    """
    log = log_path(root)
    state_dir(root)
    with tempfile.TemporaryDirectory(prefix="orc-up-") as folder:
        address = str(Path(folder) / "notify")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(address)
            process = _spawn(root, args, log, address)
            _wait_ready(sock, process, log, time.monotonic() + timeout)
    return process.pid


def _spawn(root: Path, args: list[str], log: Path, address: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "orchestrate.cli", "up", "--project", str(root), *args]
    env = {**os.environ, NOTIFY_SOCKET: address}
    env.pop("WATCHDOG_USEC", None)
    with open(log, "ab") as out:
        return subprocess.Popen(
            [*command, "--log-file", str(log)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, cwd=root, env=env,
            start_new_session=True,
        )  # fmt: skip


def _wait_ready(
    sock: socket.socket, process: subprocess.Popen[bytes], log: Path, deadline: float
) -> None:
    """Block until READY=1 arrives; the child's exit or the deadline end the wait with why."""
    while time.monotonic() < deadline:
        sock.settimeout(0.2)  # wake to see whether the child died before it got ready
        try:
            if b"READY=1" in sock.recv(4096).split(b"\n"):
                return
        except TimeoutError:
            pass
        if process.poll() is not None:
            raise DaemonError(
                f"orc up exited with {process.returncode} before it was ready; "
                f"the end of {log}:\n{_tail(log)}"
            )
    raise DaemonError(f"orc up (pid {process.pid}) was not ready in time; see {log}")


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(the log cannot be read)"
    return "\n".join(text.splitlines()[-lines:])
