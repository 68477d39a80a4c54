"""A run on a Dask task runner shows its Dask dashboard link in the run's detail (Params tab).

The link comes from the event the run records when it connects
(`orc.dask.cluster.connected`, as `orc runs show` reads it); the stand-in
daemon serves that event, since a Dask cluster is not started for a TUI test.
"""

from __future__ import annotations

from orchestrate.client.protocol import EventInfo
from tests.tui.conftest import make_app
from tests.tui.fake_daemon import START, FakeDaemon
from tests.tui.screen import screen_text, wait_for_text
from tests.tui.test_app import open_run

LINK = "http://127.0.0.1:40123/status"


def connected(run_id: str, link: str, at: float) -> EventInfo:
    return EventInfo(
        id=f"dask-{run_id}-{at}", occurred=at, event="orc.dask.cluster.connected",
        resource={"orc.resource.id": f"orc.flow-run.{run_id}", "orc.resource.role": "flow-run"},
        payload={"scheduler": "tcp://127.0.0.1:40000", "cluster": "a local Dask cluster", "dashboard": link},
    )  # fmt: skip


async def test_the_params_tab_of_a_dask_run_shows_its_dashboard_link() -> None:
    daemon = FakeDaemon.canned()
    daemon.events.append(connected("run-0001", LINK, START + 1))
    daemon.events.append(connected("run-0002", "http://127.0.0.1:9/other", START - 3000))
    async with make_app(daemon).run_test(size=(120, 40)) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await open_run(pilot, "brave-fox")
        await pilot.press("right_square_bracket", "right_square_bracket", "right_square_bracket")
        await wait_for_text(pilot, "dask dashboard")
        text = screen_text(pilot.app)
        assert LINK in text and "127.0.0.1:9/other" not in text


async def test_a_link_that_arrives_while_the_run_shows_appears(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=(120, 40)) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await open_run(pilot, "brave-fox")
        await pilot.press("right_square_bracket", "right_square_bracket", "right_square_bracket")
        await wait_for_text(pilot, "attempts")
        assert "dask dashboard" not in screen_text(pilot.app)
        daemon.push("event", connected("run-0001", LINK, START + 2))
        await wait_for_text(pilot, LINK)
