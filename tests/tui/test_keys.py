"""The modal key model: inputs take keys only once `/` opened them, Tab walks the panes in a fixed order.

Each test drives the dashboard as a person would (Pilot) and asserts what
they would notice: where the keys went, what the footer offers.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.widgets import Input

from tests.tui.conftest import make_app
from tests.tui.fake_daemon import FakeDaemon
from tests.tui.screen import screen_text, wait_for_text, wait_until
from tests.tui.test_app import open_run
from tui.screens.main import PANES, MainScreen

SIZE = (120, 40)


def main_screen(pilot: Any) -> MainScreen:
    screen = pilot.app.screen
    assert isinstance(screen, MainScreen)
    return screen


def footer_line(pilot: Any) -> str:
    return screen_text(pilot.app).rstrip("\n").splitlines()[-1]


def focused_id(pilot: Any) -> str | None:
    focused = pilot.app.focused
    return None if focused is None else focused.id


async def test_enter_on_a_list_with_the_logs_open_leaves_the_log_search_empty(
    daemon: FakeDaemon,
) -> None:
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await open_run(pilot, "brave-fox")
        screen = main_screen(pilot)
        await pilot.press("right_square_bracket", "right_square_bracket")  # Logs
        await wait_for_text(pilot, "loaded 119,997 rows")
        await pilot.press("2", "enter")
        assert focused_id(pilot) == "log-view"
        await pilot.press("left_square_bracket", "right_square_bracket", "1", "2", "3")
        assert screen.query_one("#log-search", Input).value == ""
        assert focused_id(pilot) == "automations"
        assert "no log line matches" not in screen_text(pilot.app)


async def test_an_input_takes_keys_only_after_slash_and_enter_or_esc_leave_it(
    daemon: FakeDaemon,
) -> None:
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "brave-fox")
        screen = main_screen(pilot)
        run_filter = screen.query_one("#run-filter", Input)
        await pilot.press("slash", *"failed", "enter")
        assert run_filter.value == "failed" and focused_id(pilot) == "runs"
        await pilot.press(
            "1", "2", "left_square_bracket", "j"
        )  # keys for the panes, not the filter
        assert run_filter.value == "failed" and focused_id(pilot) == "runs"
        await pilot.press("slash", *" etl", "escape")
        assert focused_id(pilot) == "runs"
        assert run_filter.value == ""  # esc leaves and clears
        await wait_for_text(pilot, "brave-fox")


async def test_tab_walks_the_panes_in_a_fixed_order_and_never_into_an_input(
    daemon: FakeDaemon,
) -> None:
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await open_run(pilot, "brave-fox")
        await pilot.press("slash", "escape")  # an input opened once stays out of the walk
        await pilot.press("1")
        seen = [focused_id(pilot)]
        for _ in range(len(PANES)):
            await pilot.press("tab")
            seen.append(focused_id(pilot))
        assert seen == ["deployments", "runs", "automations", "graph-view", "deployments"]
        await pilot.press("shift+tab")
        assert focused_id(pilot) == "graph-view"


async def test_tab_onto_automations_keeps_the_run_graph_shown(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await open_run(pilot, "brave-fox")
        await wait_for_text(pilot, "extract-0")
        await pilot.press("tab")  # Runs -> Automations
        await pilot.pause(0.3)  # past the delay after which a selection's run would load
        assert focused_id(pilot) == "automations"
        assert "extract-0" in screen_text(pilot.app)


async def test_help_and_quit_are_always_in_the_footer_at_80_columns(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=(80, 24)) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await open_run(pilot, "brave-fox")
        for keys in ([], ["right_square_bracket", "right_square_bracket", "enter"], ["1"]):
            await pilot.press(*keys)
            await wait_until(pilot, lambda: "? Help" in footer_line(pilot), what="? Help")
            assert "q Quit" in footer_line(pilot)


def cursor_styled(row_list: Any) -> bool:
    """Whether the list's cursor row is drawn in a cursor style (reverse or bold)."""
    y = row_list.cursor - row_list.scroll_offset.y
    strip = row_list.render_line(y)
    return any(seg.style is not None and (seg.style.reverse or seg.style.bold) for seg in strip)


async def test_only_the_list_holding_the_selection_shows_a_cursor(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await open_run(pilot, "brave-fox")
        screen = main_screen(pilot)
        runs, deployments, automations = (
            screen.query_one(f"#{name}") for name in ("runs", "deployments", "automations")
        )
        assert cursor_styled(runs)
        assert not cursor_styled(deployments) and not cursor_styled(automations)
        await pilot.press("enter")  # into the graph: the runs list keeps its (bold) cursor
        assert cursor_styled(runs) and not cursor_styled(deployments)


async def test_the_event_stream_filter_takes_keys_only_after_slash(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await pilot.press("e")
        await wait_for_text(pilot, "orc.flow-run.Failed")
        screen = pilot.app.screen
        event_filter = screen.query_one("#event-filter", Input)
        await pilot.press("tab", "j", "k")
        assert event_filter.value == ""
        await pilot.press("slash", *"Completed", "enter")
        await wait_until(pilot, lambda: "orc.flow-run.Failed" not in screen_text(pilot.app))
        assert focused_id(pilot) == "event-stream"
        await pilot.press("escape", "escape")  # clear the filter, then back
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, MainScreen), what="back")


async def test_a_filter_that_moves_the_cursor_moves_the_detail_with_it(daemon: FakeDaemon) -> None:
    """Filtering the runs left the detail on a run the filter hid, under a cursor on another
    one, until the cursor was moved."""
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await open_run(pilot, "brave-fox")
        screen = main_screen(pilot)
        await pilot.press("2", "slash", *"quiet")
        runs = screen._run_list
        await wait_until(
            pilot, lambda: runs.selected_key is not None and runs.selected_key != "run-0001",
            what="the cursor on a run the filter keeps",
        )  # fmt: skip
        kept = screen.dashboard.runs.get(runs.selected_key)
        assert kept is not None and "quiet" in kept.name
        await wait_until(
            pilot, lambda: screen.detail is not None and screen.detail.run.id == kept.id,
            what="the detail to show the run under the cursor",
        )  # fmt: skip


async def typed_at_once(pilot: Any, *keys: str) -> None:
    """`keys` as a terminal delivers fast typing: every key queued before the first is handled.

    Each of `keys` is characters typed, or a key's name (`enter`, `escape`).
    `pilot.press` waits for the app to settle after each key, which a person
    typing `/fail` does not: the driver queues the whole burst at once.
    """
    for key in keys:
        for name, char in [(key, NAMED_KEYS[key])] if key in NAMED_KEYS else _chars(key):
            pilot.app.post_message(events.Key(name, char))
    await pilot.pause()


def _chars(typed: str) -> list[tuple[str, str]]:
    return [(KEY_NAMES.get(char, char), char) for char in typed]


KEY_NAMES = {"/": "slash", ":": "colon", " ": "space"}
NAMED_KEYS = {"enter": "\r", "escape": "\x1b"}


async def test_keys_typed_right_after_slash_all_reach_the_filter(daemon: FakeDaemon) -> None:
    """`/failed` typed fast filtered by what came after the first keys, and `e` opened Events."""
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "brave-fox")
        screen = main_screen(pilot)
        await pilot.press("2")
        await typed_at_once(pilot, "/failed")
        run_filter = screen.query_one("#run-filter", Input)
        await wait_until(pilot, lambda: run_filter.value == "failed", 5, "'failed' in the filter")
        assert pilot.app.screen is screen and focused_id(pilot) == "run-filter"
        await typed_at_once(pilot, " state:failed")  # `/` and `:` inside the filter are typed
        await wait_until(pilot, lambda: run_filter.value == "failed state:failed", 5, "the rest")


async def test_keys_typed_right_after_a_colon_or_a_slash_in_the_graph_reach_their_input(
    daemon: FakeDaemon,
) -> None:
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await open_run(pilot, "brave-fox")
        screen = main_screen(pilot)
        await pilot.press("enter")  # into the graph, where `f` jumps to a failed task
        await typed_at_once(pilot, "/fold")
        search = screen.query_one("#graph-search", Input)
        await wait_until(pilot, lambda: search.value == "fold", 5, "'fold' in the graph search")
        await pilot.press("escape")
        await typed_at_once(pilot, ":retry")  # `r` would run the deployment, `x` retry the run
        command = screen.query_one("#command", Input)
        await wait_until(pilot, lambda: command.value == "retry", 5, "'retry' on the command line")


async def test_keys_typed_right_after_slash_reach_the_event_filter(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await pilot.press("e")
        await wait_for_text(pilot, "orc.flow-run.Failed")
        event_filter = pilot.app.screen.query_one("#event-filter", Input)
        await typed_at_once(pilot, "/quiet")  # `q` would quit
        await wait_until(pilot, lambda: event_filter.value == "quiet", 5, "'quiet' in the filter")


async def test_keys_typed_right_after_enter_in_the_filter_move_the_list(daemon: FakeDaemon) -> None:
    """`/nightly<Enter>j` typed fast: the `j` went into the filter as it closed, not to the list."""
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "brave-fox")
        screen = main_screen(pilot)
        await pilot.press("2", "home")
        await typed_at_once(pilot, "/nightly", "enter", "j")
        run_filter = screen.query_one("#run-filter", Input)
        runs = screen._run_list
        await wait_until(pilot, lambda: runs.selected_key == "run-0002", 5, "calm-owl selected")
        assert run_filter.value == "nightly" and focused_id(pilot) == "runs"
        assert screen.dashboard.runs.view() == ["run-0001", "run-0002"]


async def test_keys_typed_right_after_esc_in_the_filter_move_the_list(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "brave-fox")
        screen = main_screen(pilot)
        await pilot.press("2", "home")
        first = screen._run_list.selected_key
        await typed_at_once(pilot, "/owl", "escape", "j")
        runs = screen._run_list
        await wait_until(pilot, lambda: runs.selected_key != first, 5, "the cursor moved")
        assert screen.query_one("#run-filter", Input).value == ""
        assert focused_id(pilot) == "runs"


async def test_keys_typed_right_after_enter_on_the_command_line_reach_the_screen(
    daemon: FakeDaemon,
) -> None:
    """`:deploy cleanup<Enter>j`: the command ran, and `j` moved the deployments list on."""
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "brave-fox")
        screen = main_screen(pilot)
        await typed_at_once(pilot, ":deploy cleanup", "enter", "j")
        deployments = screen._deployment_list
        await wait_until(
            pilot, lambda: deployments.selected_key == "nightly-etl", 5, "nightly-etl, then j"
        )
        assert screen.query_one("#command", Input).value == ""
        assert focused_id(pilot) == "deployments"
