"""Blocking pipes to the daemon for `Client`: a Unix socket, or `ssh … orc dial-stdio`.

Plain file descriptors and `poll`, no event loop: a short CLI command pays for
nothing it does not use. Lines are cut from a growing buffer, so a reply of
many megabytes costs one scan.
"""

from __future__ import annotations

import os
import select
import socket
import time
from collections.abc import Callable

from orchestrate.client.address import Address, LocalAddress, SshAddress, ssh_failure
from orchestrate.client.unix import local_socket
from orchestrate.client.wire import LINE_LIMIT
from orchestrate.core.errors import ClientError, ConnectionLost, SshError

_CHUNK = 256 * 1024


class LineReader:
    """Newline-delimited lines read from a file descriptor, waiting at most until a deadline."""

    def __init__(self, fd: int, read: Callable[[int], bytes]) -> None:
        self._read = read
        self._buffer = bytearray()
        self._scanned = 0
        self._poll = select.poll()
        self._poll.register(fd, select.POLLIN)

    def readline(self, deadline: float | None) -> bytes | None:
        """The next line without its newline; None at end of stream; TimeoutError at `deadline`."""
        while (end := self._buffer.find(b"\n", self._scanned)) < 0:
            self._scanned = len(self._buffer)
            if self._scanned > LINE_LIMIT:
                raise ConnectionLost(f"the daemon sent a line over {LINE_LIMIT} bytes")
            if not self._wait(deadline):
                raise TimeoutError
            try:
                chunk = self._read(_CHUNK)
            except ConnectionResetError:  # the daemon died mid-answer: its end of the stream
                return None
            if not chunk:
                return None
            self._buffer += chunk
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]  # bytearray drops a prefix without copying the rest
        self._scanned = 0
        return line

    def _wait(self, deadline: float | None) -> bool:
        if deadline is None:
            return bool(self._poll.poll())
        remaining = max(0.0, deadline - time.monotonic())
        return bool(self._poll.poll(remaining * 1000))


class SocketChannel:
    """The project's Unix socket."""

    def __init__(self, sock: socket.socket, address: LocalAddress) -> None:
        self._sock = sock
        self._address = address
        self.lines = LineReader(sock.fileno(), sock.recv)

    def send(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as error:
            raise self.failure() from error

    def failure(self) -> ClientError:
        return ConnectionLost(f"the orc daemon for {self._address} closed the connection")

    def close(self) -> None:
        self._sock.close()


class SshChannel:
    """`ssh … orc dial-stdio`: the same lines over the subprocess's stdin and stdout."""

    def __init__(self, address: SshAddress) -> None:
        import subprocess  # loaded for ssh alone: a local command has no use for it

        self._address = address
        argv = address.argv()
        try:
            self._process = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                bufsize=0,
            )
        except OSError as error:
            raise SshError(
                f"cannot run {argv[0]!r} to reach {address}: {error.strerror}; "
                "install an ssh client or set ORC_SSH to one"
            ) from error
        assert self._process.stdin and self._process.stdout
        self._stdin = self._process.stdin
        self._stderr: str | None = None
        out = self._process.stdout.fileno()
        self.lines = LineReader(out, lambda size: os.read(out, size))

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                view = view[self._stdin.write(view) or 0 :]
        except (BrokenPipeError, ConnectionResetError) as error:
            raise self.failure() from error

    def failure(self) -> ClientError:
        """Why the pipe closed, from ssh's exit code and what it wrote on stderr."""
        stderr = self._finish()
        return ssh_failure(self._address, self._process.returncode, stderr)

    def close(self) -> None:
        self._finish()

    def _finish(self) -> str:
        """Close ssh's stdin, let it exit (or kill it), and keep what it said on stderr."""
        import subprocess

        if self._stderr is None:
            try:
                _out, err = self._process.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                _out, err = self._process.communicate()
            self._stderr = err.decode(errors="replace")
        return self._stderr


Channel = SocketChannel | SshChannel


def open_channel(address: Address, timeout: float | None) -> Channel:
    if isinstance(address, SshAddress):
        return SshChannel(address)
    return SocketChannel(local_socket(address, timeout), address)
