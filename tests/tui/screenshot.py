"""Writes `docs/tui.svg`, the README's picture of `orc tui`: the canned dashboard at 120x40.

    python -m tests.tui.screenshot

The stand-in daemon and the frozen clock of the tests make the picture the
same on every run, so a change to it in a commit is a change to the screen.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.tui.conftest import make_app
from tests.tui.fake_daemon import FakeDaemon
from tests.tui.screen import wait_for_text, wait_until
from tui.screens.main import MainScreen

OUT = Path(__file__).resolve().parents[2] / "docs" / "tui.svg"


async def main() -> None:
    app = make_app(FakeDaemon.canned())
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await pilot.press("2", "home", "down", "down")  # the fan-out run and its graph
        screen = pilot.app.screen
        assert isinstance(screen, MainScreen)
        await wait_until(pilot, lambda: screen.graph is not None and len(screen.graph) > 0)
        await pilot.pause(0.3)  # let the last frame paint
        app.save_screenshot(filename=OUT.name, path=str(OUT.parent))
    print(OUT)


if __name__ == "__main__":
    asyncio.run(main())
