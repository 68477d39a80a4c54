"""run-command: a template is refused where a program would run it as code, allowed as plain data."""

from __future__ import annotations

import json
import sys

import pytest

from orchestrate.automations import AutomationEngine, execute, validate_automations
from tests.automations.helpers import Clock, run_event
from tests.automations.recording_context import RecordingContext

T = "{{ event.payload.name }}"

REFUSED = [
    (["sh", "-c", f"echo {T}"], 2),
    (["/bin/sh", "-ec", f"echo {T}"], 2),
    (["bash", "-o", "pipefail", "-c", T], 4),
    (["zsh", "-c", T], 2),
    (["dash", "-c", T], 2),
    (["ksh", "-c", T], 2),
    (["env", "LANG=C", "sh", "-c", T], 4),
    (["env", "-S", f"sh -c {T}"], 2),
    (["sudo", "/usr/bin/bash", "-lc", T], 3),
    (["xargs", "sh", "-c", T], 3),
    (["python3", "-c", f"print('{T}')"], 2),
    (["python", f"-cprint('{T}')"], 1),
    (["/usr/bin/python3.12", "-I", "-c", T], 3),
    (["perl", "-e", "1;", "-e", T], 4),
    (["perl", "-ne", T], 2),
    (["ruby", "-e", T], 2),
    (["node", "--eval", T], 2),
    (["node", f"--eval={T}"], 1),
    (["awk", T], 1),
    (["sed", f"s/x/{T}/e"], 1),
    (["ssh", "-p", "22", "backup-host", f"rm {T}"], 4),
    (["su", "backup", "-c", T], 3),
    ([T, "--help"], 0),
    # What a wrapper runs is a program too: event text there chose it (`env`, `timeout`, …).
    (["env", T, "hello"], 1),
    (["env", "A=1", T], 2),
    (["timeout", "5", T, "arg"], 2),
    (["timeout", "-s", "KILL", "5", T], 4),
    (["sudo", "-u", "etl", T], 3),
    (["nice", "-n", "5", T], 3),
    (["nohup", T], 1),
    (["xargs", "-n", "1", T], 3),
    (["find", "/srv", "-maxdepth", "0", "-exec", T, "{}", ";"], 5),
    (["sh", T], 1),
    (["python3", "-m", T], 2),
    (["sudo", "env", "X=1", "timeout", "5", T], 5),
    # An option's value is not the program: `-W ignore`, `-o pipefail`, `--user root`.
    (["python3", "-W", "ignore", T], 3),
    (["bash", "-o", "pipefail", T], 3),
    (["perl", "-I", "lib", T], 3),
    (["sudo", "--user", "root", T], 3),
    (["xargs", "--max-args", "1", T], 3),
]

ALLOWED = [
    ["./notify.sh", T],
    ["sh", "-c", 'echo "$1"', "sh", T],
    ["bash", "deploy.sh", T],
    ["python3", "-c", "import sys; print(sys.argv[1])", T],
    ["python3", "-m", "notify", T],
    ["awk", "-v", f"name={T}", "{ print name }"],
    ["awk", "-f", "report.awk", T],
    ["sed", "-e", "s/a/b/", T],
    ["grep", "-c", "ERROR", T],
    ["echo", T],
    ["timeout", "5", "./notify.sh", T],
    ["env", "A=1", "./notify.sh", T],
    ["sudo", "-u", "etl", "./notify.sh", T],
    ["find", "/srv", "-name", T, "-exec", "./notify.sh", "{}", ";"],
]


def _problems(command: list[str], env: dict[str, str] | None = None) -> list[tuple[object, str]]:
    action = {"type": "run-command", "command": command, "env": env or {}}
    raw = [{"name": "cmd", "trigger": {"event": "acme.*"}, "actions": [action]}]
    return validate_automations(raw, set())[1]


@pytest.mark.parametrize(("command", "index"), REFUSED, ids=[" ".join(c) for c, _ in REFUSED])
def test_a_template_in_code_a_program_runs_is_refused_at_its_argv_item(
    command: list[str], index: int
) -> None:
    [(path, message)] = _problems(command)
    assert path == (0, "actions", 0, "command", index)
    assert "ORC_EVENT_JSON" in message or "program to run" in message


def test_the_refusal_says_why_and_how_to_read_event_data_safely() -> None:
    [(_, message)] = _problems(["sh", "-c", f"echo {T}"])
    assert "event text would become code" in message
    assert "ORC_EVENT_JSON" in message and '"$1"' in message


@pytest.mark.parametrize("command", ALLOWED, ids=[" ".join(c) for c in ALLOWED])
def test_a_template_as_a_plain_argument_stays_allowed(command: list[str]) -> None:
    assert _problems(command) == []


def test_a_template_in_a_variable_shells_run_is_refused() -> None:
    [(path, message)] = _problems(["./notify.sh"], env={"BASH_ENV": T})
    assert path == (0, "actions", 0, "env", "BASH_ENV")
    assert "ORC_EVENT_JSON" in message
    assert _problems(["./notify.sh"], env={"NAME": T}) == []


async def test_the_whole_event_reaches_the_program_as_orc_event_json(clock: Clock) -> None:
    event = run_event(clock, payload={"name": "x; touch /tmp/pwned"})
    raw = [
        {
            "name": "cmd",
            "trigger": {"event": "orc.flow-run.*"},
            "actions": [
                {
                    "type": "run-command",
                    "command": [
                        sys.executable,
                        "-c",
                        "import os; print(os.environ['ORC_EVENT_JSON'])",
                    ],
                }
            ],
        }
    ]
    specs, problems = validate_automations(raw, set())
    assert problems == []
    engine = AutomationEngine(specs, clock=clock)
    [firing] = engine.on_event(event)
    [outcome] = await execute(
        firing, engine.spec("cmd"), RecordingContext(), environ={}, clock=clock
    )
    seen = json.loads(outcome.payload["output"])
    assert seen["id"] == event.id and seen["payload"]["name"] == "x; touch /tmp/pwned"
    assert seen["resource"] == event.resource and seen["related"] == event.related
