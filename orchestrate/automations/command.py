"""`run-command`: run a program from an argv list, with the event in its environment.

No shell is ever involved: each argv item, even one rendered from event text
such as `; touch /tmp/pwned`, reaches the program as one argument. The
program runs in its own process group so that a timeout kills it together
with anything it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import signal
from collections.abc import Mapping
from typing import Any

from orchestrate.automations.action_models import RunCommand
from orchestrate.automations.fields import reveal
from orchestrate.automations.templating import as_text, render_value
from orchestrate.core.errors import ActionFailed

#: How much of the program's output (stdout and stderr together) the outcome event keeps.
OUTPUT_TAIL = 4000


#: How long output may still arrive once the program exited, from what it left running.
OUTPUT_GRACE = 1.0


async def run_command(
    action: RunCommand,
    scope: Mapping[str, Any],
    event_env: Mapping[str, str],
    environ: Mapping[str, str],
) -> dict[str, Any]:
    """Runs the program to its end or its timeout; returns the exit code and the tail of its output."""
    argv = [as_text(arg) for arg in render_value(action.compiled("command"), scope)]
    env = {**environ, **event_env, **_extra_env(action, scope, environ)}
    loop = asyncio.get_running_loop()
    try:
        transport, program = await loop.subprocess_exec(
            lambda: _Program(loop),
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            cwd=action.cwd,
            start_new_session=True,
        )
    except (OSError, ValueError) as e:
        raise ActionFailed(_why_not_started(argv, action.cwd, env, e)) from e
    try:
        timed_out = not await _wait(program, transport.get_pid(), action.timeout.total_seconds())
        # A child it left running (`server &`) may hold the output open for ever: what it
        # writes within the grace is kept, and the pipe is then let go.
        await asyncio.wait([program.closed], timeout=OUTPUT_GRACE)
        returncode = transport.get_returncode()
    finally:
        transport.close()
    details: dict[str, object] = {
        "command": argv,
        "exit_code": returncode,
        "output": program.output(),
    }
    if timed_out:
        raise ActionFailed(
            f"{argv[0]} was killed after running {action.timeout.total_seconds():g}s (its timeout)",
            details,
        )
    if returncode != 0:
        raise ActionFailed(f"{argv[0]} exited with code {returncode}", details)
    return details


class _Program(asyncio.SubprocessProtocol):
    """The program's exit and the tail of its output, told apart.

    `asyncio.subprocess.Process.wait()` returns only once the output pipe is closed too,
    which a child the program left running keeps open: the program's own exit is
    `exited` here, and the pipe's end is `closed`.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.exited: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self._kept = bytearray()

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        self._kept += data if isinstance(data, bytes) else data.encode()
        if len(self._kept) > 2 * OUTPUT_TAIL:
            del self._kept[: len(self._kept) - OUTPUT_TAIL]

    def process_exited(self) -> None:
        self.exited.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def output(self) -> str:
        """The last OUTPUT_TAIL characters' worth of what it wrote."""
        return bytes(self._kept[-OUTPUT_TAIL:]).decode("utf-8", errors="replace")


def _extra_env(
    action: RunCommand, scope: Mapping[str, Any], environ: Mapping[str, str]
) -> dict[str, str]:
    rendered = render_value(action.compiled("env"), scope)
    return {
        name: as_text(reveal(value, environ, f"run-command env {name}"))
        for name, value in rendered.items()
    }


async def _wait(program: _Program, pid: int, timeout: float) -> bool:
    """Waits for the program; on timeout (or cancellation) kills its whole process group.
    False if it was killed."""
    try:
        await asyncio.wait_for(asyncio.shield(program.exited), timeout)
        return True
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        await program.exited
        return False
    except asyncio.CancelledError:  # orc up is stopping: nothing it started outlives it
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        raise


def event_environment(
    event: Mapping[str, Any] | None,
    automation: str,
    firing_id: str,
    extra: Mapping[str, str | None],
) -> dict[str, str]:
    """ORC_EVENT, ORC_EVENT_ID, ORC_RESOURCE_ID, ORC_EVENT_JSON, ORC_AUTOMATION, ORC_FIRING_ID and `extra`."""
    env = {
        "ORC_AUTOMATION": automation,
        "ORC_FIRING_ID": firing_id,
        "ORC_EVENT": event["event"] if event else "",
        "ORC_EVENT_ID": event["id"] if event else "",
        "ORC_RESOURCE_ID": event["resource"].get("orc.resource.id", "") if event else "",
        "ORC_EVENT_JSON": json.dumps(event, default=str) if event else "null",
    }
    env.update({k: v for k, v in extra.items() if v})
    return env


def _why_not_started(
    argv: list[str], cwd: str | None, env: Mapping[str, str], error: OSError | ValueError
) -> str:
    """Why a command could not start, naming what to fix: its folder, an argument, the event's
    size, or the program (the OS's own words blame the program for each of them)."""
    start = f"run-command could not start {argv[0]!r}"
    if isinstance(error, ValueError):  # a NUL byte: no argument or variable can hold one
        return f"{start}: an argument or variable holds a NUL byte (from the event?): {error}"
    if cwd is not None and not os.path.isdir(cwd):
        return f"{start}: its cwd {cwd!r} is not a folder here; fix the action's cwd"
    if error.errno == errno.E2BIG:
        size = len(env.get("ORC_EVENT_JSON", ""))
        return (
            f"{start}: its arguments and environment are too large for the system (the event "
            f"in ORC_EVENT_JSON is {size:,} characters; one variable may hold 128 KiB)"
        )
    return f"{start}: {error.strerror}; check the path and that it is executable"
