"""Quitting at the first moment: the dashboard ends without an error whenever `q` lands.

When the app quits while a screen is being put up, Textual skips mounting that
screen's children; the dashboard's own set-up must not then look for them.
"""

from __future__ import annotations

from textual import on

from tests.tui.conftest import COLOUR_TERMINAL, FROZEN
from tests.tui.fake_daemon import FakeDaemon
from tui.app import OrcApp
from tui.client import DashboardClient
from tui.messages import DaemonConnected


class QuitsAsTheDaemonAnswers(OrcApp):
    """Quits in the same turn as the main screen is pushed, as a `q` typed at that moment."""

    @on(DaemonConnected)
    def _quit(self, _: DaemonConnected) -> None:
        self.exit()


async def test_quitting_as_the_daemon_answers_ends_without_an_error(daemon: FakeDaemon) -> None:
    async def connect() -> DashboardClient:
        return daemon.client()  # type: ignore[return-value]

    app = QuitsAsTheDaemonAnswers(connect, "/srv/demo", clock=FROZEN, environ=COLOUR_TERMINAL)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
    assert app.return_code == 0  # an error in a handler would have been raised by run_test
