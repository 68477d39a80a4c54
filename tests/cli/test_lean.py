"""The quick path of read commands: what it loads, and that it prints what the full commands print.

A real `orc up` in `tmp_path`, real `orc` subprocesses; `ORC_LEAN_CLI=0` sends a
command through the Typer app, so the two paths are compared on the same runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrate.cli.lean import Shape, parse
from tests.cli import rich_reference
from tests.daemon.conftest import FLOWS, Project, wait_for, with_suppress

pytestmark = pytest.mark.timeout(180)

#: Runs `orc ARGS…` in this interpreter and writes the modules it loaded to $MODULES_OUT at exit.
PROBE = (
    "import atexit, os, sys\n"
    "atexit.register(lambda: open(os.environ['MODULES_OUT'], 'w').write('\\n'.join(sys.modules)))\n"
    "sys.argv = ['orc', *sys.argv[1:]]\n"
    "from orchestrate.cli import main\n"
    "main()\n"
)
HEAVY = ("pydantic", "duckdb", "typer", "click", "textual")


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    """A running daemon with one completed run of `tiny` (and its log lines)."""
    p = Project(tmp_path)
    p.write("flows.py", FLOWS)
    p.write("flows.toml", '[[deployments]]\nname = "tiny"\nentrypoint = "flows.py:tiny"\n')
    p.up()
    started = p.orc("run", "tiny")
    assert started.returncode == 0, started.stderr
    wait_for(lambda: p.completed("tiny"), 60, "the tiny run to complete")
    yield p
    for proc in p.processes:
        if proc.poll() is None:
            with_suppress(lambda proc=proc: os.killpg(proc.pid, signal.SIGKILL))
            proc.wait(10)


def loaded(project: Project, *args: str) -> set[str]:
    """The top-level packages `orc ARGS… --project ROOT` loaded (it must succeed)."""
    out = project.root / "modules.txt"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args, "--project", str(project.root)],
        capture_output=True, text=True, timeout=60, env={**os.environ, "MODULES_OUT": str(out)},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout, "the command printed nothing"
    return {name.partition(".")[0] for name in out.read_text().split()}


def test_reads_through_the_daemon_load_no_pydantic_duckdb_typer_textual_or_rich(
    project: Project,
) -> None:
    run_id = project.completed("tiny")[0].id
    for args in (
        ("status", "--json"),
        ("status",),
        ("runs", "ls", "--json"),
        ("runs", "ls"),
        ("runs", "show", run_id, "--json"),
        ("runs", "show", run_id),
        ("logs", run_id, "--json"),
        ("logs", run_id),
    ):
        modules = loaded(project, *args)
        assert not modules & {*HEAVY, "rich"}, (args, sorted(modules & {*HEAVY, "rich"}))


def test_reads_through_the_daemon_load_neither_dataclasses_nor_inspect(project: Project) -> None:
    """`dataclasses` loads `inspect` (and `ast`, `dis`, `tokenize`): ~5 ms of CPU a command
    spent before its first byte, for views it only reads."""
    run_id = project.completed("tiny")[0].id
    for args in (
        ("runs", "ls"),
        ("runs", "ls", "--json"),
        ("runs", "show", run_id),
        ("runs", "show", run_id, "--json"),
        ("logs", run_id),
        ("logs", run_id, "--json"),
    ):
        modules = loaded(project, *args)
        assert not modules & {"dataclasses", "inspect"}, (args, sorted(modules))


def test_orc_logs_loads_neither_logging_nor_a_thread_pool(project: Project) -> None:
    """Level names and the page read ahead need neither: their imports came before the first line."""
    modules = loaded(project, "logs", project.completed("tiny")[0].id)
    assert not modules & {"logging", "concurrent", "rich"}, sorted(modules)


def test_the_quick_path_prints_what_the_full_commands_print(project: Project) -> None:
    run_id = project.completed("tiny")[0].id
    for args in (
        ("runs", "ls"),
        ("runs", "ls", "--json"),
        ("runs", "ls", "-n", "1", "--deployment", "tiny", "--json"),
        ("runs", "ls", "--flow", "nothing-by-this-name"),
        ("runs", "show", run_id),
        ("runs", "show", run_id[:8], "--json"),
        ("logs", run_id),
        ("logs", run_id, "--json"),
        ("runs", "show", "no-such-run"),
        ("logs", "no-such-run"),
        ("run", "no-such-deployment"),
    ):
        quick, full = project.orc(*args), project.orc(*args, env={"ORC_LEAN_CLI": "0"})
        assert (quick.returncode, quick.stdout, quick.stderr) == (
            full.returncode,
            full.stdout,
            full.stderr,
        ), args
    quick, full = project.orc("status"), project.orc("status", env={"ORC_LEAN_CLI": "0"})
    assert _without_uptime(quick.stdout) == _without_uptime(full.stdout)
    quick_json = json.loads(project.orc("status", "--json").stdout)
    full_json = json.loads(project.orc("status", "--json", env={"ORC_LEAN_CLI": "0"}).stdout)
    assert list(quick_json) == list(full_json)  # every field, in the same order
    assert {**quick_json, "uptime_seconds": 0} == {**full_json, "uptime_seconds": 0}


def _without_uptime(text: str) -> str:
    return "\n".join(line.partition(", up ")[0] for line in text.splitlines())


def test_orc_run_on_the_quick_path_starts_the_run(project: Project) -> None:
    started = project.orc("run", "tiny", "--json")
    assert started.returncode == 0, started.stderr
    run = json.loads(started.stdout)
    assert (run["deployment"], run["state_name"]) == ("tiny", "Scheduled")
    wait_for(lambda: len(project.completed("tiny")) == 2, 60, "the second run to complete")


def test_other_options_and_no_daemon_are_answered_by_the_full_commands(
    project: Project,
) -> None:
    refused = project.orc("runs", "ls", "--limit", "0")
    assert refused.returncode == 2 and "--limit" in refused.stderr
    filtered = project.orc("runs", "ls", "--state", "Completed", "--json")
    assert filtered.returncode == 0 and len(json.loads(filtered.stdout)) == 1
    project.stop()
    down = project.orc("status")
    assert down.returncode == 5 and "orc up is not running" in down.stdout
    offline = project.orc("runs", "ls", "--json")  # read from the store file, as before
    assert offline.returncode == 0 and len(json.loads(offline.stdout)) == 1


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--json", "--project", "p"], ([], {"--json"}, {"project": "p"})),
        (["abc", "--json"], None),  # no positional here
        (["--limit=5"], None),  # the `=` form: left to click
        (["--project"], None),  # a value missing
        (["--project", "--json"], None),  # an option where its value should be
        (["--help"], None),
    ],
)
def test_parse_takes_only_what_plainly_fits(
    argv: list[str], expected: tuple[list[str], set[str], dict[str, str]] | None
) -> None:
    found = parse(argv, Shape())
    got = None if found is None else (found.positionals, found.flags, found.options)
    assert got == expected


def test_orc_version_loads_neither_typer_nor_duckdb(tmp_path: Path) -> None:
    out = tmp_path / "modules.txt"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "version"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "MODULES_OUT": str(out)},
    )  # fmt: skip
    assert result.returncode == 0 and result.stdout.startswith("orc ")
    assert "duckdb " in result.stdout
    modules = {name.partition(".")[0] for name in out.read_text().split()}
    assert not modules & {*HEAVY, "rich", "platform"}
    assert f"python {platform.python_version()}" in result.stdout
    flag = subprocess.run(
        [sys.executable, "-m", "orchestrate.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    full = subprocess.run(
        [sys.executable, "-m", "orchestrate.cli", "--version"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "ORC_LEAN_CLI": "0"},
    )  # fmt: skip
    assert (
        (flag.returncode, flag.stdout)
        == (full.returncode, full.stdout)
        == (0, result.stdout.splitlines()[0] + "\n")
    )


def test_a_command_loads_its_own_module_and_not_the_others(tmp_path: Path) -> None:
    """`orc run --help` builds the run command alone: no sql, events, tui, export or backfill."""
    out = tmp_path / "modules.txt"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "run", "--help"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "MODULES_OUT": str(out)},
    )  # fmt: skip
    assert result.returncode == 0 and "--watch" in result.stdout
    modules = set(out.read_text().split())
    assert "orchestrate.cli.control" in modules
    others = {f"orchestrate.cli.{name}" for name in ("sql", "events", "tui", "export", "backfill")}
    assert not modules & others, sorted(modules & others)


def test_a_daemon_that_does_not_answer_is_asked_once(tmp_path: Path) -> None:
    """A socket that takes connections and never replies: one wait, exit 5, the daemon named."""
    (tmp_path / "flows.toml").write_text("")
    (tmp_path / ".orc").mkdir()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(tmp_path / ".orc" / "orc.sock"))
    server.listen(8)
    held: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                held.append(server.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "orchestrate.cli", "status", "--project", str(tmp_path)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        server.close()
    assert result.returncode == 5, result.stdout + result.stderr
    assert "did not answer `hello`" in result.stderr
    assert len(held) == 1


def _modules_and_result(
    project: Project, *args: str
) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """The top-level packages `orc ARGS… --project ROOT` loaded, and how it ended."""
    out = project.root / "modules.txt"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args, "--project", str(project.root)],
        capture_output=True, text=True, timeout=60, env={**os.environ, "MODULES_OUT": str(out)},
    )  # fmt: skip
    return {name.partition(".")[0] for name in out.read_text().split()}, result


@pytest.mark.parametrize(
    "bad",
    [
        ("-p", "days"),  # no `=`
        ("-p", "=3"),  # no key
        ("--param", "x=1", "-p", " =2"),
        ("--params", "[1, 2]"),  # not an object
        ("--params", "{days: 3"),  # not JSON
        ("-p", "x=" + "[" * 100_000),  # too deep to read
        ("-p", "x=not-a-number"),  # refused by the daemon: `x: int`
    ],
)
def test_bad_parameters_to_orc_run_get_the_full_commands_errors_without_typer(
    project: Project, bad: tuple[str, ...]
) -> None:
    modules, quick = _modules_and_result(project, "run", "tiny", *bad)
    full = project.orc("run", "tiny", *bad, env={"ORC_LEAN_CLI": "0"})
    assert quick.returncode == 2, quick.stdout + quick.stderr
    assert (quick.returncode, quick.stdout, quick.stderr) == (
        full.returncode,
        full.stdout,
        full.stderr,
    )
    assert not modules & {*HEAVY, "rich"}, sorted(modules & {*HEAVY, "rich"})


def _states(text: str) -> list[str]:
    """The states `orc run --watch` printed, by name (their messages vary run to run)."""
    return [line.partition("]")[0] + "]" for line in text.splitlines() if line.startswith("[")]


def test_orc_run_with_parameters_and_watch_on_the_quick_path(project: Project) -> None:
    args = ("run", "tiny", "-p", "x=21", "--params", '{"x": 1}', "--watch")
    modules, quick = _modules_and_result(project, *args)
    assert quick.returncode == 0, quick.stdout + quick.stderr
    assert not modules & {*HEAVY, "rich"}, sorted(modules & {*HEAVY, "rich"})
    assert "INFO     tiny got x=21\n" in quick.stdout  # -p wins over --params
    full = project.orc(*args, env={"ORC_LEAN_CLI": "0"})
    assert full.returncode == 0
    for out in (quick.stdout, full.stdout):
        assert out.startswith("Started ") and out.splitlines()[0].endswith(" of tiny.")
        assert "INFO     tiny got x=21\n" in out  # every line, those pushed after the end too
        assert "INFO     Finished in state Completed()\n" in out
        assert _states(out)[0] == "[Scheduled]" and _states(out)[-1] == "[Completed]"


def test_orc_run_watch_json_prints_the_finished_run_and_its_exit_code(project: Project) -> None:
    project.write("flows.toml", project.root.joinpath("flows.toml").read_text() + FAILS)
    wait_for(lambda: project.orc("run", "fails", "--json").returncode == 0, 30, "fails deployed")
    modules, quick = _modules_and_result(project, "run", "fails", "--watch", "--json")
    assert not modules & {*HEAVY, "rich"}, sorted(modules & {*HEAVY, "rich"})
    full = project.orc("run", "fails", "--watch", "--json", env={"ORC_LEAN_CLI": "0"})
    assert quick.returncode == full.returncode == 1, quick.stderr
    quick_run, full_run = json.loads(quick.stdout), json.loads(full.stdout)
    assert list(quick_run) == list(full_run)
    assert quick_run["state_name"] == full_run["state_name"] == "Failed"


FAILS = '[[deployments]]\nname = "fails"\nentrypoint = "flows.py:fails"\n'


MORE_DEPLOYMENTS = """
[[deployments]]
name = "yearly"
entrypoint = "flows.py:tiny"
description = "a schedule far ahead, paused"
schedules = [{ cron = "0 0 1 1 *" }, { interval = "90m" }]

[[deployments]]
name = "needs-a-secret-and-a-name-long-enough-to-be-cut-in-a-narrow-terminal"
entrypoint = "flows.py:tiny"
env = { TOKEN = { from_env = "ORC_TEST_SURELY_UNSET" } }
"""
#: Answers with NULLs, wide and combining characters, JSON, long text; none; and a capped one.
QUERIES = (
    "SELECT id, name, state_name, parameters, tags, NULL AS nothing, '日本語のテキスト' AS wide, "
    "'e\u0301 🚀' AS marks, repeat('long text ', 30) AS long FROM flow_runs",
    "SELECT * FROM flow_runs WHERE false",
    "SELECT 1 AS n UNION ALL SELECT 2",
)


@pytest.fixture
def deployed(project: Project) -> Project:
    """`project` with a paused deployment on two schedules and one blocked by a missing secret."""
    project.write("flows.toml", project.root.joinpath("flows.toml").read_text() + MORE_DEPLOYMENTS)
    wait_for(lambda: len(_deployments(project)) == 3, 30, "the new deployments")
    assert project.orc("pause", "yearly").returncode == 0
    return project


def _deployments(project: Project) -> list[Any]:
    with project.client() as client:
        return client.deployments()


def _drawn_deployments(project: Project, env: dict[str, str]) -> tuple[str, set[str]]:
    """What Rich drew of the deployments just before and just after `orc deployments ls` ran
    (NEXT is relative to now), and what the command printed."""
    width = int(env["COLUMNS"])
    with project.client() as client:
        before = rich_reference.deployments(client.deployments(), time.time(), width)
        printed = project.orc("deployments", "ls", env=env)
        after = rich_reference.deployments(client.deployments(), time.time(), width)
    assert printed.returncode == 0, printed.stderr
    return printed.stdout, {before, after}


@pytest.mark.parametrize("columns", ["24", "60", "200"])
@pytest.mark.parametrize("no_color", [False, True])
def test_deployments_ls_and_sql_print_what_rich_printed(
    deployed: Project, columns: str, no_color: bool
) -> None:
    env = {"COLUMNS": columns, **({"NO_COLOR": "1"} if no_color else {})}
    printed, drawn = _drawn_deployments(deployed, env)
    assert printed in drawn
    for query in QUERIES:
        for limit in ("1000", "1"):
            with deployed.client() as client:
                answer = client.sql_query(query, limit=int(limit))
            result = deployed.orc("sql", query, "--limit", limit, env=env)
            assert result.returncode == 0, result.stderr
            expected = rich_reference.sql(
                answer.columns, answer.rows, answer.truncated, int(columns)
            )
            assert result.stdout == expected, (query, limit)


def test_deployments_ls_and_sql_through_the_daemon_load_no_rich_pydantic_or_dataclasses(
    deployed: Project,
) -> None:
    for args in (
        ("deployments", "ls"),
        ("sql", QUERIES[0]),
        ("sql", QUERIES[0], "--json"),
        ("sql", QUERIES[0], "--csv", "--timeout", "10"),
    ):
        modules = loaded(deployed, *args)
        unwanted = modules & {*HEAVY, "rich", "dataclasses", "inspect"}
        assert not unwanted, (args, sorted(unwanted))


def test_deployments_ls_and_sql_on_the_quick_path_print_what_the_full_commands_print(
    deployed: Project,
) -> None:
    for args in (
        ("deployments", "ls", "--json"),
        *(("sql", query) for query in QUERIES),
        ("sql", QUERIES[0], "--json"),
        ("sql", QUERIES[0], "--csv"),
        ("sql", QUERIES[2], "--limit", "1"),
        ("sql", QUERIES[2], "--limit", "0", "--timeout", "2.5"),
        ("sql", "SELECT nonsense FROM nowhere"),  # the daemon's error, as the full path says it
        ("sql", "DELETE FROM flow_runs"),
        ("sql", "SELECT 1", "--json", "--csv"),  # refused by the full command
        ("sql", "SELECT 1", "--timeout", "0"),
        ("sql", " "),
    ):
        quick, full = deployed.orc(*args), deployed.orc(*args, env={"ORC_LEAN_CLI": "0"})
        assert (quick.returncode, quick.stdout, quick.stderr) == (
            full.returncode,
            full.stdout,
            full.stderr,
        ), args
