"""The versions a daemon and a worker speak, said first by each, so a mismatch is refused early.

A deployment may run under another interpreter (`python` or `venv` in
flows.toml), with whatever orc is installed there. The daemon's first line to
a worker is a `hello` with its protocol version; the worker answers with its
own `hello` (protocol, orc version, interpreter) before it reads a spec. When
the two differ, neither goes on: the worker exits, and the daemon ends the run
Failed with `refusal`'s words, which say what to install where. A zygote says
its protocol in its `ready` message, so an old one is never forked from.

`PROTOCOL` changes whenever a message between daemon and worker (or zygote)
changes shape; the orc version alone does not matter.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrate._version import __version__

PROTOCOL = 1
HELLO = "hello"


@dataclass(frozen=True, slots=True)
class Hello:
    """What one side says of itself first."""

    protocol: int
    orc: str
    python: str

    def line(self) -> bytes:
        params = {"protocol": self.protocol, "orc": self.orc, "python": self.python}
        message = {"jsonrpc": "2.0", "method": HELLO, "params": params}
        return json.dumps(message).encode() + b"\n"


def ours() -> Hello:
    """This process's hello."""
    return _OURS


def our_line() -> bytes:
    """This process's hello as the line it says it in, made once at import (a zygote's
    workers share it; building it cost each run ~6 µs)."""
    return _OUR_LINE


_OURS = Hello(PROTOCOL, __version__, sys.executable)
_OUR_LINE = _OURS.line()


def parse(line: bytes) -> Hello | None:
    """The hello in `line`, or None if it is not one (an orc older than the handshake)."""
    try:
        message = json.loads(line)
        params: Any = message["params"]
        if message.get("method") != HELLO or not isinstance(params["protocol"], int):
            return None
        return Hello(params["protocol"], str(params.get("orc", "?")), str(params.get("python", "")))
    except (ValueError, KeyError, TypeError):
        return None


def refusal(theirs: Hello, python: str) -> str:
    """Why a worker under `python` that said `theirs` cannot run this daemon's runs."""
    return (
        f"worker protocol v{theirs.protocol} (orc {theirs.orc}), daemon speaks v{PROTOCOL}: "
        f"install orc {__version__} in {environment(python)} ({install_hint(python)})"
    )


def environment(python: str) -> str:
    """The venv folder of `python` (`/x/.venv` for `/x/.venv/bin/python`), else the interpreter."""
    path = Path(python)
    return str(path.parent.parent) if path.parent.name == "bin" else python


def install_hint(python: str) -> str:
    """The command that installs this orc under `python`: from this checkout if it is one."""
    pip = Path(python).parent / "pip"
    installer = str(pip) if pip.name == "pip" and os.access(pip, os.X_OK) else f"{python} -m pip"
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "orchestrate").is_dir():
        return f"{installer} install -e {checkout}"
    return f"{installer} install orc=={__version__}"


__all__ = [
    "HELLO",
    "PROTOCOL",
    "Hello",
    "environment",
    "install_hint",
    "our_line",
    "ours",
    "parse",
    "refusal",
]
