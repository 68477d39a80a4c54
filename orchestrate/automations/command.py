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


async def run_command(
    action: RunCommand,
    scope: Mapping[str, Any],
    event_env: Mapping[str, str],
    environ: Mapping[str, str],
) -> dict[str, Any]:
    """Runs the program to its end or its timeout; returns the exit code and the tail of its output."""
    argv = [as_text(arg) for arg in render_value(action.compiled("command"), scope)]
    env = {**environ, **event_env, **_extra_env(action, scope, environ)}
    try:
        process = await asyncio.create_subprocess_exec(
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
    assert process.stdout is not None
    reader = asyncio.create_task(_tail(process.stdout))
    timed_out = not await _wait(process, action.timeout.total_seconds())
    output = await reader
    details: dict[str, object] = {
        "command": argv,
        "exit_code": process.returncode,
        "output": output,
    }
    if timed_out:
        raise ActionFailed(
            f"{argv[0]} was killed after running {action.timeout.total_seconds():g}s (its timeout)",
            details,
        )
    if process.returncode != 0:
        raise ActionFailed(f"{argv[0]} exited with code {process.returncode}", details)
    return details


def _extra_env(
    action: RunCommand, scope: Mapping[str, Any], environ: Mapping[str, str]
) -> dict[str, str]:
    rendered = render_value(action.compiled("env"), scope)
    return {
        name: as_text(reveal(value, environ, f"run-command env {name}"))
        for name, value in rendered.items()
    }


async def _wait(process: asyncio.subprocess.Process, timeout: float) -> bool:
    """Waits for the program; on timeout kills its whole process group. False if it was killed."""
    try:
        await asyncio.wait_for(process.wait(), timeout)
        return True
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        return False


async def _tail(stream: asyncio.StreamReader) -> str:
    """Reads the stream to its end, keeping only the last OUTPUT_TAIL characters' worth of bytes."""
    kept = bytearray()
    while chunk := await stream.read(65536):
        kept += chunk
        if len(kept) > 2 * OUTPUT_TAIL:
            del kept[: len(kept) - OUTPUT_TAIL]
    return bytes(kept[-OUTPUT_TAIL:]).decode("utf-8", errors="replace")


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
