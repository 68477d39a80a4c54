"""run-command with real subprocesses: the event in the environment, argv as data, exit codes, timeouts."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

from orchestrate.automations import AutomationEngine, execute
from orchestrate.core.records import EventRecord
from tests.automations.helpers import Clock, run_event, specs_from_toml
from tests.automations.recording_context import RecordingContext

PRINT_ENV = (
    "import json, os; print(json.dumps({k: os.environ.get(k) for k in "
    "['ORC_EVENT', 'ORC_EVENT_ID', 'ORC_RESOURCE_ID', 'ORC_EVENT_JSON', 'ORC_AUTOMATION', 'ORC_FLOW_RUN_ID', "
    "'ORC_DEPLOYMENT', 'RUN', 'TOKEN']}))"
)


def automation(command: list[str], **settings: str) -> str:
    extra = "".join(f", {key} = {value}" for key, value in settings.items())
    return f"""
[[automations]]
name = "cmd"
trigger = {{ event = "orc.flow-run.*" }}
actions = [{{ type = "run-command", command = {json.dumps(command)}{extra} }}]
"""


async def run(
    text: str, clock: Clock, event: EventRecord, environ: dict[str, str] | None = None
) -> EventRecord:
    engine = AutomationEngine(specs_from_toml(text), clock=clock)
    [firing] = engine.on_event(event)
    [outcome] = await execute(
        firing, engine.spec("cmd"), RecordingContext(), environ=environ or {}, clock=clock
    )
    return outcome


async def test_the_event_reaches_the_program_as_environment_variables(clock: Clock) -> None:
    event = run_event(clock, run_id="r5")
    text = automation(
        [sys.executable, "-c", PRINT_ENV],
        env='{ RUN = "{{ flow_run.id }}", TOKEN = { from_env = "SECRET" } }',
    )
    outcome = await run(text, clock, event, environ={"SECRET": "t0k3n"})
    assert outcome.event == "orc.automation.action.executed", outcome.payload
    seen = json.loads(outcome.payload["output"])
    assert seen == {
        "ORC_EVENT": "orc.flow-run.Failed",
        "ORC_EVENT_ID": event.id,
        "ORC_RESOURCE_ID": "orc.flow-run.r5",
        "ORC_EVENT_JSON": seen["ORC_EVENT_JSON"],
        "ORC_AUTOMATION": "cmd",
        "ORC_FLOW_RUN_ID": "r5",
        "ORC_DEPLOYMENT": "nightly-etl",
        "RUN": "r5",
        "TOKEN": "t0k3n",
    }
    assert json.loads(seen["ORC_EVENT_JSON"])["payload"] == event.payload
    assert outcome.payload["exit_code"] == 0


async def test_shell_text_in_the_event_is_passed_as_data_and_never_run(
    clock: Clock, tmp_path: Path
) -> None:
    pwned = tmp_path / "pwned"
    hostile = f"; touch {pwned}; $(touch {pwned}) `touch {pwned}` | touch {pwned} && touch {pwned}"
    event = run_event(clock, payload={"note": hostile})
    argv = [
        sys.executable,
        "-c",
        "import sys, os; print(repr(sys.argv[1:])); print(os.environ['ORC_EVENT_JSON'])",
        "{{ event.payload.note }}",
        "note: {{ event.payload.note }}",
    ]
    outcome = await run(automation(argv), clock, event)
    first_line = outcome.payload["output"].splitlines()[0]
    assert first_line == repr([hostile, f"note: {hostile}"])
    assert not pwned.exists()


async def test_a_non_zero_exit_is_a_failure_with_the_code_and_the_output_tail(clock: Clock) -> None:
    argv = [
        sys.executable,
        "-c",
        "import sys; print('x' * 10000, flush=True); print('disk full', file=sys.stderr); sys.exit(3)",
    ]
    outcome = await run(automation(argv), clock, run_event(clock))
    assert outcome.event == "orc.automation.action.failed"
    assert outcome.payload["exit_code"] == 3
    assert outcome.payload["output"].endswith("disk full\n")
    assert len(outcome.payload["output"]) <= 4000
    assert "exited with code 3" in outcome.payload["error"]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


async def test_the_timeout_kills_the_program_and_what_it_started(clock: Clock) -> None:
    spawn = "import subprocess, sys, time; p = subprocess.Popen(['sleep', '30']); print(p.pid, flush=True); time.sleep(30)"
    started = time.monotonic()
    outcome = await run(
        automation([sys.executable, "-c", spawn], timeout="0.5"), clock, run_event(clock)
    )
    assert time.monotonic() - started < 5
    assert outcome.event == "orc.automation.action.failed"
    assert "killed after running 0.5s" in outcome.payload["error"]
    grandchild = int(outcome.payload["output"].split()[0])
    deadline = time.monotonic() + 5
    while alive(grandchild) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)  # waiting for init to reap it, on a condition with a deadline
    assert not alive(grandchild)


async def test_a_program_that_leaves_a_child_running_ends_when_it_exits(clock: Clock) -> None:
    """`sh -c 'server & echo started'`: the child keeps the output pipe open. The action ends
    with the program, as it said; it is not a timeout, and the child is not killed."""
    script = "sleep 30 & echo started $!"
    started = time.monotonic()
    outcome = await run(automation(["sh", "-c", script], timeout="20"), clock, run_event(clock))
    assert time.monotonic() - started < 10
    assert outcome.event == "orc.automation.action.executed", outcome.payload
    assert outcome.payload["exit_code"] == 0
    words = outcome.payload["output"].split()
    assert words[0] == "started"
    child = int(words[1])
    try:
        assert alive(child)
    finally:
        os.kill(child, signal.SIGKILL)


async def test_a_missing_program_fails_with_what_to_check(clock: Clock) -> None:
    outcome = await run(automation(["./no-such-notifier.sh"]), clock, run_event(clock))
    assert outcome.event == "orc.automation.action.failed"
    assert "could not start './no-such-notifier.sh'" in outcome.payload["error"]


async def test_a_missing_cwd_is_named_not_blamed_on_the_program(clock: Clock) -> None:
    """It said the program had "No such file or directory; check the path"."""
    text = automation([sys.executable, "-c", "pass"], cwd='"/nonexistent/dir"')
    outcome = await run(text, clock, run_event(clock))
    assert "its cwd '/nonexistent/dir' is not a folder here" in outcome.payload["error"]


async def test_an_event_too_large_for_the_environment_says_so(clock: Clock) -> None:
    """It said "Argument list too long; check the path and that it is executable"."""
    event = run_event(clock)
    event.payload["blob"] = "x" * 140_000
    outcome = await run(automation([sys.executable, "-c", "pass"]), clock, event)
    assert "the event in ORC_EVENT_JSON is" in outcome.payload["error"]
    assert "one variable may hold 128 KiB" in outcome.payload["error"]
