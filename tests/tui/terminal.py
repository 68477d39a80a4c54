"""A command in a pseudo-terminal, as a person runs it: what it draws, as text, and keys typed in."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import re
import struct
import sys
import termios
from dataclasses import dataclass, field
from pathlib import Path

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
