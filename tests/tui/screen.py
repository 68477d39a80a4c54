"""Reading what a running app shows, as plain text: what a person would see on the terminal."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable

from rich.console import Console
from textual.app import App
from textual.pilot import Pilot


def screen_text(app: App[object]) -> str:
    """The whole screen as text lines (colours dropped)."""
    width, height = app.size
    console = Console(
        width=width, height=height, file=io.StringIO(), record=True, legacy_windows=False
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()


async def wait_until(
    pilot: Pilot[object], condition: Callable[[], bool], timeout: float = 10.0, what: str = ""
) -> None:
    """Let the app run until `condition()` holds; fail after `timeout` seconds, saying what was awaited."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what or condition}\n{screen_text(pilot.app)}"
            )
        await pilot.pause(0.02)
        await asyncio.sleep(0)


async def wait_for_text(pilot: Pilot[object], text: str, timeout: float = 10.0) -> None:
    await wait_until(pilot, lambda: text in screen_text(pilot.app), timeout, repr(text))


def notices(app: App[object]) -> list[str]:
    """The notifications showing now (run the app with `run_test(notifications=True)`)."""
    return [str(notification.message) for notification in app._notifications]


async def wait_for_notice(pilot: Pilot[object], text: str, timeout: float = 10.0) -> None:
    await wait_until(
        pilot,
        lambda: any(text in notice for notice in notices(pilot.app)),
        timeout,
        f"a notification {text!r}",
    )


def steady_cursors(pilot: Pilot[object]) -> None:
    """Every text cursor on the screen shown steadily, so a picture never catches one blinked off
    (a loaded machine can take longer than a blink between the last key and the picture)."""
    from textual.widgets import Input

    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
