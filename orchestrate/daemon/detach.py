"""`orc up --detach`: the daemon in the background, its log in `.orc/orc.log`, rotated.

The parent starts `orc up` in a session of its own with stdin closed and
stdout/stderr on the log file, then waits for the child's READY=1 on a notify
socket of its own (the message systemd would get), so it returns only once
the daemon answers, or reports why it did not start with the log's tail.
"""

from __future__ import annotations

import contextlib
import logging.handlers
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

from orchestrate.core.errors import DaemonError
from orchestrate.core.project import log_path, state_dir
from orchestrate.daemon.sd_notify import NOTIFY_SOCKET

#: The log rotates at this size and keeps this many old files (orc.log.1 … orc.log.5).
LOG_BYTES = 10 * 1024 * 1024
LOG_BACKUPS = 5


class RotatingLog(logging.handlers.RotatingFileHandler):
    """The detached daemon's log; after a rollover stdout and stderr follow the new file,
    so a stray print or a crash's traceback lands beside the records.

    A line the disk refuses (full, or an I/O error) is counted, not half kept: the
    file is reopened past it, and once a line can be written again the log first says
    how many were lost, from when to when, and why. Python's own report of a failed
    line would go to stderr, which is this same full file.
    """

    def __init__(self, path: Path, max_bytes: int = LOG_BYTES) -> None:
        super().__init__(path, maxBytes=max_bytes, backupCount=LOG_BACKUPS, encoding="utf-8")
        self._follow()
        self._lost: _Lost | None = None

    def doRollover(self) -> None:
        super().doRollover()
        self._follow()

    def emit(self, record: logging.LogRecord) -> None:
        if self._lost is None:
            super().emit(record)
        elif not self._say_lost_then(record):
            self._lost.add(record)

    def handleError(self, record: logging.LogRecord) -> None:
        refused = sys.exc_info()[1]
        if not isinstance(refused, OSError):
            super().handleError(record)
            return
        if self._lost is None:
            self._lost = _Lost(refused.strerror or str(refused), record.created)
        self._lost.add(record)
        self._let_go()

    def _say_lost_then(self, record: logging.LogRecord) -> bool:
        """Write the count of lost lines and `record` at once; False while the disk refuses.

        Together, so that a notice is never followed by more losses it does not count.
        """
        assert self._lost is not None
        notice = logging.makeLogRecord(
            {"name": __name__, "levelno": logging.WARNING, "levelname": "WARNING",
             "msg": self._lost.notice(), "created": record.created}
        )  # fmt: skip
        try:
            stream, size = self._reopen()
        except OSError:
            return False
        try:
            lines = (self.format(notice), self.format(record))
            stream.write("".join(line + self.terminator for line in lines))
            stream.flush()
        except OSError:
            self._let_go()
            with contextlib.suppress(OSError):
                os.truncate(self.baseFilename, size)  # no notice without the line after it
            return False
        self._lost = None
        return True

    def _reopen(self) -> tuple[TextIO, int]:
        """Open the file again past a partly written line; the stream, and the file's size."""
        _cut_partial_line(Path(self.baseFilename))
        self.stream = stream = self._open()
        self._follow()
        return stream, os.fstat(stream.fileno()).st_size

    def _let_go(self) -> None:
        """Close the stream, dropping what it buffered, so no part of a lost line lands later."""
        stream, self.stream = self.stream, None
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                stream.close()

    def _follow(self) -> None:
        if self.stream is not None:
            sys.stderr.flush()
            for fd in (1, 2):
                os.dup2(self.stream.fileno(), fd)


def _cut_partial_line(path: Path, window: int = 64 * 1024) -> None:
    """Drop the part of a line the disk took before it refused the rest."""
    with open(path, "rb+") as log:
        size = log.seek(0, os.SEEK_END)
        start = max(0, size - window)
        log.seek(start)
        tail = log.read()
        end = tail.rfind(b"\n")
        if tail and not tail.endswith(b"\n") and (end >= 0 or start == 0):
            log.truncate(start + end + 1)


class _Lost:
    """The log lines a refusing disk cost: how many, from when to when, and why."""

    def __init__(self, because: str, since: float) -> None:
        self.because = because
        self.since = self.until = since
        self.count = 0

    def add(self, record: logging.LogRecord) -> None:
        self.count += 1
        self.until = record.created

    def notice(self) -> str:
        def at(moment: float) -> str:
            return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(moment))

        return (
            f"{self.count} line(s) of this log could not be written from {at(self.since)} "
            f"to {at(self.until)} ({self.because}); they are lost"
        )


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
