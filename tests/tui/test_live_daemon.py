"""The dashboard against a real `orc up` in a temp project: what a person sees, with no stand-ins.

The project has three deployments: `fan` (start → square.map(range(n)) →
total), `slow` (sleeps) and `nested` (a subflow: step, then hold until the
test creates the gate file). Each test starts its own daemon (`live_daemon`).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

from tests.tui.conftest import GATE
from tests.tui.screen import screen_text, wait_for_notice, wait_for_text, wait_until
from tui.app import OrcApp
from tui.client import Target, daemon_connector
from tui.format import TIMES
from tui.screens.main import MainScreen
from tui.screens.run_form import RunForm
from tui.state import SECTIONS

SIZE = (120, 40)
SLOW = 30.0  # a run takes a few seconds here: the first start of a worker imports the flow


def app_for(root: Path) -> OrcApp:
    return OrcApp(daemon_connector(Target(project=root)), str(root))


def main_screen(pilot: Any) -> MainScreen:
    screen = pilot.app.screen
    assert isinstance(screen, MainScreen)
    return screen


def first_run_id(screen: MainScreen) -> str:
    """The run at the top of the list, under any section title."""
    return next(i for i in screen.dashboard.runs.view() if i not in SECTIONS)


async def select_deployment(pilot: Any, name: str) -> None:
    screen = main_screen(pilot)
    await wait_until(pilot, lambda: name in screen.dashboard.deployments, what=f"deployment {name}")
    position = list(screen.dashboard.deployments).index(name)
    await pilot.press("1", "home", *(["down"] * position))
    await wait_until(
        pilot,
        lambda: screen.selection is not None and screen.selection.key == name,
        what=f"{name} selected",
    )


async def test_a_run_started_from_the_tui_completes_on_screen_with_its_fan_out_graph(
    live_daemon: Path,
) -> None:
    async with app_for(live_daemon).run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_text(pilot, "● fan ", timeout=SLOW)  # the row: "fan" is in the tmp path too
        await wait_for_text(pilot, "● slow ")  # the list grows to its rows a frame later
        assert "livetest" in screen_text(pilot.app)
        await select_deployment(pilot, "fan")
        await pilot.press("r")
        await wait_for_notice(pilot, "Run fan", timeout=SLOW)
        screen = main_screen(pilot)
        await wait_until(pilot, lambda: len(screen.dashboard.runs) == 1, what="the new run listed")
        run_id = first_run_id(screen)
        # No key pressed from here: the run's state arrives by subscription.
        await wait_until(
            pilot,
            lambda: screen.dashboard.runs.get(run_id).state.name == "Completed",
            SLOW,
            "Completed",
        )  # type: ignore[union-attr]
        await wait_for_text(pilot, "✔ " + screen.dashboard.runs.get(run_id).name)  # type: ignore[union-attr]

        await pilot.press("2", "home")
        await wait_until(
            pilot,
            lambda: screen.detail is not None and screen.detail.run.id == run_id,
            SLOW,
            "the run's detail",
        )
        await wait_until(
            pilot,
            lambda: screen.graph is not None and len(screen.graph) == 3,
            SLOW,
            "three graph rows",
        )
        assert screen.graph is not None
        rows = screen.graph.rows()
        assert [row.node.name for row in rows] == ["start-0", "square", "total-0"]
        square = rows[1].node
        assert len(square.ids) == 4 and square.counts() == {"Completed": 4}
        assert square.upstream == {rows[0].node.key: "data"}
        assert rows[2].node.upstream == {square.key: "data"}
        await wait_for_text(pilot, f"square {TIMES}4  4✔")


async def test_cancel_and_the_parameter_form_against_the_daemon(live_daemon: Path) -> None:
    async with app_for(live_daemon).run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_text(pilot, "● slow ", timeout=SLOW)
        await select_deployment(pilot, "fan")
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, RunForm), what="the run form")
        pilot.app.screen.query_one("#field-n").value = "lots"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await wait_for_text(pilot, "'lots' is not a whole number")
        await pilot.press("escape")

        screen = main_screen(pilot)
        await select_deployment(pilot, "slow")
        await pilot.press("r")
        await wait_until(
            pilot, lambda: len(screen.dashboard.runs) == 1, SLOW, "the slow run listed"
        )
        run_id = first_run_id(screen)
        await wait_until(
            pilot,
            lambda: screen.dashboard.runs.get(run_id).state.name == "Running",
            SLOW,
            "Running",
        )  # type: ignore[union-attr]
        await pilot.press("2", "home", "c")
        await wait_for_text(pilot, "Cancel run")
        await pilot.press("y")
        await wait_until(
            pilot,
            lambda: screen.dashboard.runs.get(run_id).state.name == "Cancelled",
            SLOW,
            "Cancelled",
        )  # type: ignore[union-attr]


async def test_a_subflows_tasks_show_under_its_stand_in_row_and_follow_it_live(
    live_daemon: Path,
) -> None:
    async with app_for(live_daemon).run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_text(pilot, "● nested ", timeout=SLOW)
        await select_deployment(pilot, "nested")
        await pilot.press("r")
        screen = main_screen(pilot)

        def parent() -> Any:
            runs = (screen.dashboard.runs.get(i) for i in screen.dashboard.runs.view())
            return next((r for r in runs if r and r.deployment == "nested"), None)

        await wait_until(pilot, lambda: parent() is not None, SLOW, "the nested run listed")
        run_id = parent().id
        # its subflow's run is listed too, beside it (same start): wait for it, then move
        await wait_until(pilot, lambda: len(screen.dashboard.runs) == 2, SLOW, "the child run")

        async def to_the_parent() -> None:
            shown = [i for i in screen.dashboard.runs.view() if i not in SECTIONS]
            await pilot.press("2", "home", *["down"] * shown.index(run_id))

        def parents_graph() -> bool:
            return screen.graph is not None and screen.graph.flow_run_id == run_id

        # the two share a start time and may swap places as the second starts: move again
        # while the graph shown is the other run's
        await to_the_parent()
        deadline = time.monotonic() + SLOW
        while not parents_graph():
            assert time.monotonic() < deadline, "the run's graph:\n" + screen_text(pilot.app)
            await pilot.pause(0.1)
            if screen.graph is not None and not parents_graph():
                await to_the_parent()
        await wait_until(pilot, lambda: len(screen.graph) == 1, SLOW, "the stand-in row")  # type: ignore[arg-type]
        assert screen.graph is not None and screen.graph.row(0).node.is_subflow
        await pilot.press("enter", "home", "enter")  # into the graph; expand the subflow's row

        def nested() -> dict[str, str]:
            rows = screen.graph.rows() if screen.graph is not None else []
            return {r.node.name: r.node.task_run.state.name for r in rows if r.node.depth == 1}

        await wait_until(
            pilot, lambda: nested().get("hold-0") == "Running", SLOW, "the subflow's tasks"
        )
        assert nested()["step-0"] == "Completed"
        assert parent().state.name == "Running"
        await wait_for_text(pilot, "hold-0")

        (live_daemon / GATE).touch()  # the subflow goes on: followed with no key pressed
        await wait_until(
            pilot, lambda: nested().get("hold-0") == "Completed", SLOW, "hold-0 Completed"
        )
        await wait_until(pilot, lambda: parent().state.name == "Completed", SLOW, "the run done")


FAKE_SSH = """#!/bin/sh
# Stands in for ssh: drops the options and the destination, runs the remote command here.
while [ "$1" != "--" ]; do shift; done
shift 2
exec sh -c "$1"
"""


async def test_host_ssh_reaches_the_daemon_through_orc_dial_stdio(
    live_daemon: Path, tmp_path_factory: Any, monkeypatch: Any
) -> None:
    bin_dir = tmp_path_factory.mktemp("bin")
    (bin_dir / "ssh").write_text(FAKE_SSH)
    (bin_dir / "ssh").chmod(0o755)
    monkeypatch.setenv(
        "PATH",
        f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    )
    monkeypatch.delenv("ORC_SSH", raising=False)
    host = f"ssh://me@server{live_daemon}"
    app = OrcApp(daemon_connector(Target(host=host)), host)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "livetest", timeout=SLOW)
        await wait_for_text(pilot, "slow")


async def orc(root: Path, *argv: str) -> None:
    """Run `orc …` against the project, as a person in another terminal would."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "orchestrate.cli", *argv, "--project", str(root),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), SLOW)
    assert process.returncode == 0, out.decode()


async def test_changes_made_outside_show_without_a_key_pressed(live_daemon: Path) -> None:
    async with app_for(live_daemon).run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_text(pilot, "● slow ", timeout=SLOW)
        await orc(live_daemon, "pause", "slow")
        await wait_for_text(pilot, "‖ slow", timeout=1.0)

        toml = live_daemon / "flows.toml"
        toml.write_text(
            toml.read_text() + '\n[[deployments]]\nname = "added"\nentrypoint = "flows.py:fan"\n'
        )
        await wait_for_text(pilot, "added", timeout=SLOW)  # the watcher's debounce, then 1 s

        toml.write_text(toml.read_text() + "\n[[deployments]]\nname = 3\n")
        await wait_for_text(pilot, "flows.toml is invalid", timeout=SLOW)
