"""The log viewer: whole tracebacks, full level names, wrap and horizontal scroll, following the end.

What a person reads in a failed run's logs must be all there: every line of
a traceback, `WARNING` not `WARN`, a long line either wrapped or reachable by
scrolling sideways, and while following, the newest line in sight.
"""

from __future__ import annotations

from typing import Any

from orchestrate.client.protocol import LogInfo
from tests.tui.conftest import make_app
from tests.tui.fake_daemon import NOW, START, FakeDaemon
from tests.tui.screen import screen_text, wait_for_text, wait_until
from tests.tui.test_app import open_run

TRACEBACK = (
    "batch 7 failed\n"
    "Traceback (most recent call last):\n"
    '  File "/srv/demo/examples/etl.py", line 41, in process\n'
    "    rows = parse(batch)\n"
    '  File "/srv/demo/examples/etl.py", line 17, in parse\n'
    "    raise ValueError(f'bad row {n}')\n"
    "ValueError: bad row 17"
)
LONG = "a very long line " + "x" * 150 + " THE-END"


def line(message: str, level: int = 20, at: float = 0.0) -> LogInfo:
    return LogInfo(
        flow_run_id="run-0001", task_run_id=None, ts=START + at, level=level,
        logger="orc.flow_runs", message=message,
    )  # fmt: skip


def daemon_with_logs(*extra: LogInfo) -> FakeDaemon:
    daemon = FakeDaemon.canned()
    daemon.logs["run-0001"] = [*daemon.logs["run-0001"], *extra]
    return daemon


async def into_logs(pilot: Any) -> None:
    await wait_for_text(pilot, "brave-fox")
    await open_run(pilot, "brave-fox")
    await pilot.press("right_square_bracket", "right_square_bracket", "enter")
    await wait_for_text(pilot, "loaded 119,997")


async def test_a_traceback_shows_every_line_and_levels_their_full_names() -> None:
    daemon = daemon_with_logs(line(TRACEBACK, level=40, at=401))
    async with make_app(daemon).run_test(size=(200, 50)) as pilot:
        await into_logs(pilot)
        await pilot.press("end")
        await wait_for_text(pilot, "ValueError: bad row 17")
        text = screen_text(pilot.app)
        for part in TRACEBACK.splitlines():
            assert part.strip() in text, part
        assert "WARNING" in text and "ERROR " in text and "ERRO " not in text


async def test_w_wraps_long_lines_and_left_right_scroll_them_when_not_wrapped() -> None:
    daemon = daemon_with_logs(line(LONG, at=402))
    async with make_app(daemon).run_test(size=(120, 40)) as pilot:
        await into_logs(pilot)
        assert "THE-END" not in screen_text(pilot.app)
        await pilot.press("w")
        await wait_for_text(pilot, "THE-END")
        await pilot.press("w")
        await wait_until(pilot, lambda: "THE-END" not in screen_text(pilot.app), what="unwrapped")
        await pilot.press(*["right"] * 8)
        await wait_for_text(pilot, "THE-END")
        await pilot.press("home")  # back to the first column (and the first line)
        await wait_until(pilot, lambda: "THE-END" not in screen_text(pilot.app), what="column 0")


async def test_following_keeps_the_newest_line_in_sight(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=(80, 24)) as pilot:
        await into_logs(pilot)
        for i in range(60):
            daemon.push("log", line(f"pushed line {i:02d}", at=NOW - START + i).model_dump())
        await wait_for_text(pilot, "pushed line 59")
        await pilot.pause()
        assert "pushed line 58" in screen_text(pilot.app)
