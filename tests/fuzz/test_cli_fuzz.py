"""Fuzzing `orc`'s arguments against a real daemon: every input ends in a success or a clear error.

Each generated command line (bad ids, durations, JSON, states, huge numbers,
odd names) runs in-process the way the `orc` script runs it, and a sample of
them as real `orc` subprocesses. A failure must exit with a documented code
(`orchestrate.cli.exits`) and a short message on stderr, never a traceback.

    ORC_FUZZ_LONG=1 .venv/bin/pytest tests/fuzz/test_cli_fuzz.py

runs the long form, once with the daemon up and once with only the store file
(read commands open it directly); `ORC_FUZZ_INPUTS`, `ORC_FUZZ_SEED` and
`ORC_FUZZ_CLI_RESULT` (default: orc-fuzz/cli.json in the temp folder, written
as cli-daemon-up.json and cli-daemon-down.json) as for the socket fuzzer.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from orchestrate.cli import exits
from tests.daemon.conftest import FLOWS, Project
from tests.fuzz.test_socket_fuzz import FLOWS_TOML

LONG = os.environ.get("ORC_FUZZ_LONG") == "1"
INPUTS = int(os.environ.get("ORC_FUZZ_INPUTS") or (5_000 if LONG else 150))
SUBPROCESSES = 200 if LONG else 8
SEED = int(os.environ.get("ORC_FUZZ_SEED") or (random.randrange(2**32) if LONG else 7))
RESULT = Path(
    os.environ.get("ORC_FUZZ_CLI_RESULT") or Path(tempfile.gettempdir()) / "orc-fuzz" / "cli.json"
)
DOCUMENTED = {exits.OK, exits.RUN_NOT_COMPLETED, exits.BAD_INPUT, exits.NOT_FOUND,
              exits.STORE_ERROR, exits.NO_DAEMON}  # fmt: skip
MESSAGE_LIMIT = 2_000  # characters: a paragraph, not a dump


IDS = ["", "zzz", "'", "%", "*", "-1", "0" * 40, "a" * 3000, "\u00e9t\u00e9", "run id", "../../x"]
NAMES = ["nope", "", " ", "tiny ", "TINY", "*", "../x", "a" * 3000, "\u2603", "watch\t"]
NUMBERS = ["0", "-1", "abc", "99999999999999999999999", "1e3", "", "1.5", "0x10", "NaN"]
SINCE = ["10x", "-5m", "99999999999d", "P", "2026-13-01", "", "1e400s", "yesterday",
         "0001-01-01", "9999-12-31T23:59:59", "10m"]  # fmt: skip
JSON_TEXTS = ["{", "[1]", "null", "1e400", '{"x": "abc"}', '{"x": 1e400}', '"s"',
              '{"x": NaN}', '{"x": {"y": []}}', "{}", '{"x": [1, 2]}', "\ufeff{}"]  # fmt: skip
#: Nested past what Python's JSON reader follows (`-p`/`--params`).
DEEP_JSON = "[" * 5000
PAIRS = ["x", "=1", "x=", "x=abc", "x=[1", "x={}", "x=null", "x=true", "x=1e400", "=", "x==1"]
STATES = ["Failedd", "", "*", "COMPLETED'", "failed", "Running", "\u00fc"]
EVENTS = ["", " ", "a" * 3000, "x.y", "fuzz.cli", "\u2603.\u2603", "-x", "x\ty"]
ENTRYPOINTS = ["", "flows.py", "nope.py:tiny", "flows.py:nope", ":tiny", "flows.py:", "/:/"]


def _pick(r: random.Random, values: list[str]) -> str:
    return r.choice(values)


def _opt(r: random.Random, flag: str, values: list[str]) -> list[str]:
    return [flag, _pick(r, values)] if r.random() < 0.6 else []


#: Command-line makers: none starts a flow run of valid parameters.
MAKERS: dict[str, Callable[[random.Random], list[str]]] = {
    "runs show": lambda r: ["runs", "show", _pick(r, IDS), *r.choice([[], ["--json"]])],
    "runs ls": lambda r: ["runs", "ls", *_opt(r, "--state", STATES), *_opt(r, "--limit", NUMBERS),
                          *_opt(r, "--flow", NAMES)],
    "logs": lambda r: ["logs", _pick(r, IDS), *r.choice([[], ["--json"]])],
    "cancel": lambda r: ["cancel", _pick(r, IDS)],
    "retry": lambda r: ["retry", _pick(r, IDS)],
    "run": lambda r: ["run", r.choice(["tiny", *NAMES]), "-p", _pick(r, PAIRS),
                      *_opt(r, "--params", JSON_TEXTS)],
    "flow run": lambda r: ["flow", "run", _pick(r, ENTRYPOINTS), *_opt(r, "-p", PAIRS)],
    "events ls": lambda r: ["events", "ls", *_opt(r, "--name", EVENTS), *_opt(r, "--resource", NAMES),
                            *_opt(r, "--since", SINCE), *_opt(r, "--limit", NUMBERS)],
    "emit": lambda r: ["emit", _pick(r, EVENTS), "--resource", _pick(r, NAMES),
                       *_opt(r, "--payload", [*JSON_TEXTS, DEEP_JSON])],
    "deployments show": lambda r: ["deployments", "show", _pick(r, NAMES)],
    "pause": lambda r: ["pause", _pick(r, NAMES)],
    "resume": lambda r: ["resume", _pick(r, NAMES)],
    "automations show": lambda r: ["automations", "show", _pick(r, NAMES)],
    "automations pause": lambda r: ["automations", "pause", _pick(r, NAMES)],
    "unknown": lambda r: [r.choice(["runz", "--nope", "runs", "events", "-x"]), _pick(r, NAMES)],
}  # fmt: skip


@dataclass
class Outcome:
    code: int
    stderr: str
    crash: str | None = None  # the exception that escaped, as a traceback would show it


def run_in_process(argv: list[str]) -> Outcome:
    """`orc argv` as the console script runs it (`orchestrate.cli.main`), output captured."""
    from orchestrate.cli.app import app
    from orchestrate.cli.exits import report
    from orchestrate.core.errors import OrcError

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            app(args=argv, prog_name="orc")
        except SystemExit as done:
            return Outcome(_code(done.code), err.getvalue())
        except OrcError as error:
            return Outcome(report(error), err.getvalue())
        except Exception as error:  # what a user would see as a traceback
            return Outcome(1, err.getvalue(), f"{type(error).__name__}: {error}")
    return Outcome(0, err.getvalue())


def _code(code: object) -> int:
    return code if isinstance(code, int) else (0 if code is None else 1)


@dataclass
class Tally:
    seed: int
    inputs: Counter[str] = field(default_factory=Counter)
    exits: Counter[int] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    subprocesses: int = 0

    def check(self, command: str, argv: list[str], outcome: Outcome) -> None:
        self.inputs[command] += 1
        self.exits[outcome.code] += 1
        shown = " ".join(a if len(a) < 40 else a[:37] + "..." for a in argv)
        if outcome.crash is not None:
            self.problems.append(f"orc {shown}: escaped {outcome.crash[:300]}")
        elif "Traceback" in outcome.stderr:
            self.problems.append(f"orc {shown}: traceback on stderr")
        elif outcome.code not in DOCUMENTED:
            self.problems.append(f"orc {shown}: undocumented exit {outcome.code}")
        elif outcome.code != 0 and not outcome.stderr.strip():
            self.problems.append(f"orc {shown}: exit {outcome.code} with nothing on stderr")
        elif len(outcome.stderr) > MESSAGE_LIMIT:
            self.problems.append(f"orc {shown}: {len(outcome.stderr)} characters on stderr")


@pytest.fixture(params=["daemon up", "daemon down"])
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Project]:
    """A project with its daemon running, or with only a store file (reads open it directly)."""
    project = Project(tmp_path)
    project.write("flows.py", FLOWS)
    project.write("flows.toml", FLOWS_TOML)
    if request.param == "daemon up":
        project.up()
    else:
        _stored_history(tmp_path)
    yield project
    for proc in project.processes:
        if proc.poll() is None:
            project.stop(proc)


def _stored_history(root: Path) -> None:
    """A run, a log line and an event in the store file, as a stopped daemon leaves them."""
    from orchestrate.core.project import store_path
    from orchestrate.core.records import EventRecord, LogRecord
    from orchestrate.store import StoreWriter
    from tests.conftest import _flow_run

    writer = StoreWriter(store_path(root))
    writer.put(_flow_run("stored-run-1"))
    writer.put(LogRecord("stored-run-1", None, time.time(), 20, "fuzz", "hello"))
    writer.put(EventRecord("stored-event", time.time(), "fuzz.stored", {"orc.resource.id": "r"}))
    writer.close()


@pytest.mark.timeout(7200 if LONG else 120)
def test_no_command_line_gets_a_traceback_or_an_undocumented_exit(
    live: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(live.root)
    monkeypatch.setenv("COLUMNS", "200")
    generator = random.Random(SEED)
    tally = Tally(SEED)
    started = time.monotonic()

    for number in range(INPUTS):
        command = generator.choice(sorted(MAKERS))
        argv = [*MAKERS[command](generator), "--project", str(live.root)]
        if number % max(1, INPUTS // SUBPROCESSES) == 0:
            result = live.orc(*argv[:-2])
            outcome = Outcome(result.returncode, result.stderr)
            tally.subprocesses += 1
        else:
            outcome = run_in_process(argv)
        tally.check(command, argv, outcome)

    answering = _answering(live)
    _write_result(tally, time.monotonic() - started, answering)
    assert tally.problems == []
    assert answering is not False
    assert tally.exits[exits.BAD_INPUT] > INPUTS // 20


def _answering(project: Project) -> bool | None:
    """Whether the daemon still answers `status` (None: no daemon was started)."""
    if not project.processes:
        return None
    with project.client() as client:
        return client.status().project == "fuzz"


def _write_result(tally: Tally, seconds: float, answering: bool | None) -> None:
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    mode = "daemon up" if answering is not None else "daemon down"
    result = {
        "fuzzer": "cli", "mode": mode, "seed": tally.seed, "inputs": sum(tally.inputs.values()),
        "as_subprocesses": tally.subprocesses,
        "inputs_by_command": dict(sorted(tally.inputs.items())),
        "exits_by_code": {str(k): v for k, v in sorted(tally.exits.items())},
        "tracebacks_or_undocumented": len(tally.problems), "examples": tally.problems[:20],
        "daemon_still_answering": answering, "seconds": round(seconds, 1),
    }  # fmt: skip
    path = RESULT.with_name(f"{RESULT.stem}-{mode.replace(' ', '-')}{RESULT.suffix}")
    path.write_text(json.dumps(result, indent=2) + "\n")


@pytest.mark.parametrize("argv", [["-p", f"x={DEEP_JSON}"], ["--params", DEEP_JSON]])
def test_params_nested_too_deeply_are_bad_input(argv: list[str], tmp_path: Path) -> None:
    outcome = run_in_process(["run", "tiny", *argv, "--project", str(tmp_path)])

    assert outcome.crash is None
    assert outcome.code == exits.BAD_INPUT
