"""The dashboard driven by keys (Pilot) over a stand-in daemon: what a person sees and what gets sent."""

from __future__ import annotations

from typing import Any

from textual.message import Message

from orchestrate.core.errors import DaemonNotRunning
from tests.tui.conftest import FROZEN, make_app
from tests.tui.fake_daemon import NOW, FakeDaemon, state, task
from tests.tui.screen import screen_text, wait_for_notice, wait_for_text, wait_until
from tui.app import OrcApp
from tui.client import DashboardClient
from tui.format import TIMES
from tui.messages import RunsChanged, TaskRunsChanged
from tui.screens.main import MainScreen
from tui.screens.no_daemon import NoDaemonScreen
from tui.screens.run_form import RunForm
from tui.widgets.graph_view import GraphView

SIZE = (120, 40)


async def open_run(pilot: Any, name: str) -> None:
    """Move the Runs cursor onto the run called `name` and wait for its graph."""
    screen = pilot.app.screen
    assert isinstance(screen, MainScreen)
    runs = [screen.dashboard.runs.get(key) for key in screen.dashboard.runs.view()]
    shown = [run.name for run in runs if run is not None]  # section headers take no cursor
    await pilot.press("2", "home", *(["down"] * shown.index(name)))
    await wait_until(
        pilot,
        lambda: screen.detail is not None and screen.detail.run.name == name,
        what=f"run {name}",
    )


async def test_deployments_runs_and_automations_are_listed(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_text(pilot, "brave-fox")
        text = screen_text(pilot.app)
        for shown in (
            "nightly-etl",
            "cleanup",
            "calm-owl",
            "eager-yak",
            "cleanup-after-failure",
            "1 running · 1 queued",
        ):
            assert shown in text


async def test_a_fan_out_runs_graph_shows_every_task_once_with_the_mapped_task_collapsed(
    daemon: FakeDaemon,
) -> None:
    async with make_app(daemon).run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await open_run(pilot, "brave-fox")
        await wait_for_text(pilot, f"process {TIMES}12  11✔ 1✘")
        text = screen_text(pilot.app)
        screen = pilot.app.screen
        assert isinstance(screen, MainScreen) and screen.graph is not None
        names = [row.node.name for row in screen.graph.rows()]
        assert names == [
            "extract-0",
            "check_schema-0",
            "validate-0",
            "process",
            "load-0",
            "report-0",
            "notify-0",
        ]
        for name in names:
            assert name in text
        assert screen.graph.row(2).node.upstream == {
            "run-0001:extract": "data",
            "run-0001:check_schema": "wait_for",
        }
        assert screen.graph.row(4).node.upstream == {"run-0001:process": "data"}

        await pilot.press("enter")  # into the graph
        graph = pilot.app.screen.query_one("#graph-view", GraphView)
        assert graph.has_focus
        await pilot.press("down", "down", "down", "enter")
        await wait_for_text(pilot, "process-11")
        assert "▾ process" in screen_text(pilot.app)


async def test_task_runs_pushed_by_the_daemon_appear_with_no_key_pressed(
    daemon: FakeDaemon,
) -> None:
    async with make_app(daemon).run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await open_run(pilot, "eager-yak")
        run_id = "run-0003"
        daemon.push(
            "task_run",
            task(
                "live-1",
                "fetch-0",
                "fetch",
                NOW - 40,
                None,
                run=run_id,
                state_name="Running",
                state_type="RUNNING",
            ),
        )
        daemon.push(
            "task_run",
            task(
                "live-2",
                "parse-0",
                "parse",
                NOW - 30,
                None,
                run=run_id,
                state_name="Pending",
                state_type="PENDING",
            ),
        )
        daemon.push(
            "edge",
            {
                "flow_run_id": run_id,
                "task_run_id": "live-2",
                "upstream_id": "live-1",
                "kind": "data",
            },
        )
        await wait_for_text(pilot, "parse-0")
        screen = pilot.app.screen
        assert isinstance(screen, MainScreen) and screen.graph is not None
        assert screen.graph.row(1).node.upstream == {"run-0003:fetch": "data"}

        finished = daemon.runs[2].model_copy(
            update={"state": state("Completed", "COMPLETED", NOW), "end_time": NOW}
        )
        daemon.push("flow_run", finished)
        await wait_until(
            pilot, lambda: "✔ eager-yak" in screen_text(pilot.app), what="eager-yak Completed"
        )


async def test_changes_arrive_as_batched_past_tense_messages(daemon: FakeDaemon) -> None:
    seen: list[Message] = []
    async with make_app(daemon).run_test(
        size=SIZE, notifications=True, message_hook=seen.append
    ) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await open_run(pilot, "eager-yak")
        for i in range(50):
            daemon.push(
                "task_run",
                task(f"b-{i}", f"step-{i}", "step", NOW - 30, None, dyn=i, run="run-0003"),
            )
        await wait_for_text(pilot, f"step {TIMES}50")
        batches = [m for m in seen if isinstance(m, TaskRunsChanged)]
        assert sum(len(b.task_runs) for b in batches) == 50
        assert len(batches) < 50  # a burst becomes a few messages, not one per change


async def test_r_runs_the_selected_deployment_and_says_so(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await pilot.press("1", "down", "r")  # nightly-etl
        await wait_until(
            pilot, lambda: ("create_run", ("nightly-etl", None)) in daemon.calls, what="create_run"
        )
        await wait_for_notice(pilot, "Run nightly-etl: new-run")


async def test_the_parameter_form_refuses_a_bad_value_before_sending(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await pilot.press("1", "down", "R")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, RunForm), what="the run form")
        form = pilot.app.screen
        days = form.query_one("#field-days")
        days.value = "many"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await wait_for_text(pilot, "'many' is not a whole number")
        assert not [c for c in daemon.calls if c[0] == "create_run"]

        days.value = "3"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await wait_until(
            pilot, lambda: not isinstance(pilot.app.screen, RunForm), what="the form to close"
        )
        assert ("create_run", ("nightly-etl", {"days": 3})) in daemon.calls
        await wait_for_notice(pilot, "Started new-run")


async def test_the_daemons_refusal_shows_in_the_form(daemon: FakeDaemon) -> None:
    async def refuse(deployment: str, parameters: dict[str, Any] | None = None) -> Any:
        from orchestrate.client.protocol import BAD_INPUT
        from orchestrate.core.errors import BadInput

        raise BadInput(BAD_INPUT, "parameter 'source' of nightly: no such bucket")

    async with make_app(daemon).run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_text(pilot, "brave-fox")
        screen = pilot.app.screen
        assert isinstance(screen, MainScreen)
        screen.client.create_run = refuse  # type: ignore[method-assign]
        await pilot.press("1", "down", "R")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, RunForm), what="the run form")
        await pilot.press("ctrl+s")
        await wait_for_text(
            pilot, "The daemon refused: parameter 'source' of nightly: no such bucket"
        )
        assert isinstance(pilot.app.screen, RunForm)


async def test_c_cancels_the_selected_run_after_asking(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await open_run(pilot, "eager-yak")
        await pilot.press("c")
        await wait_for_text(pilot, "Cancel run eager-yak")
        await pilot.press("n")
        await pilot.press("c")
        await wait_for_text(pilot, "Cancel run eager-yak")
        await pilot.press("y")
        await wait_until(
            pilot, lambda: ("cancel_run", "run-0003") in daemon.calls, what="cancel_run"
        )
        assert daemon.calls.count(("cancel_run", "run-0003")) == 1
        await wait_for_notice(pilot, "eager-yak (run-0003) is Cancelling")


async def test_x_retries_and_p_pauses(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await open_run(pilot, "calm-owl")
        await pilot.press("x")
        await wait_until(pilot, lambda: ("retry_run", "run-0002") in daemon.calls, what="retry_run")
        await pilot.press("1", "down", "p")  # nightly-etl is active: pause it
        await wait_until(
            pilot, lambda: ("pause_deployment", "nightly-etl") in daemon.calls, what="pause"
        )
        await pilot.press("3", "p")
        await wait_until(
            pilot,
            lambda: ("pause_automation", "cleanup-after-failure") in daemon.calls,
            what="pause automation",
        )


async def test_readonly_switches_the_verbs_off(daemon: FakeDaemon) -> None:
    async with make_app(daemon, readonly=True).run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await pilot.press("1", "down", "r", "p", "R")
        await pilot.pause()
        assert daemon.calls == []
        text = screen_text(pilot.app)
        assert "read-only" in text and "Pause/resume" not in text


async def test_slash_filters_the_runs_and_esc_clears_it(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await pilot.press("slash", *"state:failed")
        await wait_until(
            pilot, lambda: "brave-fox" not in screen_text(pilot.app), what="the filter"
        )
        assert "calm-owl" in screen_text(pilot.app)
        await pilot.press("escape")
        await wait_for_text(pilot, "brave-fox")


async def test_logs_follow_filter_by_level_and_search(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await open_run(pilot, "brave-fox")
        await pilot.press("right_square_bracket", "right_square_bracket")  # Logs
        await wait_for_text(pilot, "loaded 119,997 rows")
        daemon.push(
            "log",
            {
                "flow_run_id": "run-0001",
                "task_run_id": None,
                "ts": NOW,
                "level": 20,
                "logger": "x",
                "message": "a line pushed live",
            },
        )
        await wait_for_text(pilot, "a line pushed live")

        await pilot.press(
            "2", "enter", "v", "v", "v"
        )  # into the log view; level: WARNING and above
        await wait_until(
            pilot, lambda: "loaded 119,997 rows" not in screen_text(pilot.app), what="level filter"
        )
        assert "3 rows have no customer id" in screen_text(pilot.app)
        await pilot.press("v")  # ERROR
        await pilot.press("v")  # back to all
        await pilot.press("slash", *"warehouse")
        await wait_until(
            pilot, lambda: "extracted 120,000" not in screen_text(pilot.app), what="search"
        )
        assert "loaded 119,997 rows into warehouse" in screen_text(pilot.app)


async def test_help_palette_and_events(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await pilot.press("question_mark")
        await wait_for_text(pilot, "orc tui: keys")
        await pilot.press("escape")
        await pilot.press("ctrl+p", *"run with")
        await wait_for_text(pilot, "Run with parameters")
        await pilot.press("escape")
        await pilot.press("e")
        await wait_for_text(pilot, "orc.flow-run.Failed")
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, MainScreen)


async def test_with_no_daemon_it_says_how_to_start_one_and_connects_when_one_appears(
    daemon: FakeDaemon,
) -> None:
    up = False

    async def connect() -> DashboardClient:
        if not up:
            raise DaemonNotRunning("/srv/demo")
        return daemon.client()

    app = OrcApp(
        connect,
        "/srv/demo",
        start_hint="orc up --project /srv/demo",
        clock=FROZEN,
        retry_seconds=0.05,
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_text(pilot, "orc up --project /srv/demo")
        assert "No orc daemon is running for /srv/demo" in screen_text(app)
        assert isinstance(app.screen, NoDaemonScreen)
        up = True
        await wait_for_text(pilot, "brave-fox")

        up = False
        daemon.hang_up()  # the daemon stops: the dashboard stays, with a banner
        await wait_for_text(pilot, "connection lost — retrying")
        assert "brave-fox" in screen_text(app)


async def test_a_run_created_elsewhere_is_listed_live(daemon: FakeDaemon) -> None:
    seen: list[Message] = []
    async with make_app(daemon).run_test(
        size=SIZE, notifications=True, message_hook=seen.append
    ) as pilot:
        await wait_for_text(pilot, "brave-fox")
        new = daemon.runs[0].model_copy(
            update={"id": "run-0099", "name": "swift-cat", "created": NOW}
        )
        daemon.push("flow_run", new)
        await wait_for_text(pilot, "swift-cat")
        assert any(isinstance(m, RunsChanged) and m.runs[0].id == "run-0099" for m in seen)


async def test_the_run_form_takes_typing_at_once_and_enter_sends_one_with_no_fields(
    daemon: FakeDaemon,
) -> None:
    """The form opened with nothing focused: typing went nowhere until Tab, and on a form
    with no fields enter did nothing (only ctrl+s sent it)."""
    async with make_app(daemon).run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await pilot.press("1", "down", "R")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, RunForm), what="the run form")
        await pilot.press("end", "2", "enter")
        await wait_until(
            pilot, lambda: not isinstance(pilot.app.screen, RunForm), what="the form to close"
        )
        assert ("create_run", ("nightly-etl", {"days": 12})) in daemon.calls

        await pilot.press("1", "home", "R")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, RunForm), what="a bare form")
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: not isinstance(pilot.app.screen, RunForm), what="the form to close"
        )
        assert [c for c in daemon.calls if c[0] == "create_run"][-1][1][0] == "cleanup"
