"""The log viewer: whole tracebacks, full level names, wrap and horizontal scroll, following the end.

What a person reads in a failed run's logs must be all there: every line of
a traceback, `WARNING` not `WARN`, a long line either wrapped or reachable by
scrolling sideways, and while following, the newest line in sight.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from orchestrate.client.protocol import LogInfo
from tests.tui.conftest import make_app
from tests.tui.fake_daemon import NOW, START, FakeDaemon
from tests.tui.screen import notices, screen_text, wait_for_notice, wait_for_text, wait_until
from tests.tui.test_app import open_run
from tui.screens.main import MainScreen
from tui.screens.task_logs import TaskLogsScreen

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


async def test_t_hides_and_shows_the_times(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=(120, 40)) as pilot:
        await into_logs(pilot)
        assert "08:50:21 INFO" in screen_text(pilot.app)
        await pilot.press("t")
        await wait_until(pilot, lambda: "08:50:21" not in screen_text(pilot.app), what="no times")
        assert "INFO     extract-0 extracted 120,000 rows" in screen_text(pilot.app)
        await pilot.press("t")
        await wait_for_text(pilot, "08:50:21 INFO")


async def test_capital_e_jumps_to_the_first_error_and_stops_following() -> None:
    daemon = FakeDaemon.canned()
    daemon.logs["run-0001"] = [
        *(line(f"filler line {i:03d}", at=2 + i) for i in range(200)),
        line(TRACEBACK, level=40, at=300),
        *(line(f"after line {i:03d}", at=301 + i) for i in range(50)),
    ]
    async with make_app(daemon).run_test(size=(120, 40)) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await open_run(pilot, "brave-fox")
        await pilot.press("right_square_bracket", "right_square_bracket", "enter", "home")
        await wait_for_text(pilot, "filler line 000")
        assert "Traceback" not in screen_text(pilot.app)
        await pilot.press("E")
        await wait_for_text(pilot, "Traceback (most recent call last)")
        await pilot.pause()
        assert "filler line 000" not in screen_text(pilot.app)
        view = pilot.app.screen.query_one("#log-view")
        assert not view.follow  # type: ignore[attr-defined]


async def test_s_saves_the_shown_lines_whole_to_a_private_file_and_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    daemon = daemon_with_logs(line(TRACEBACK, level=40, at=401))
    async with make_app(daemon).run_test(size=(120, 40), notifications=True) as pilot:
        await into_logs(pilot)
        await pilot.press("s")
        await wait_for_notice(pilot, "Saved 8 log lines to")
        saved = list(tmp_path.glob("orc-brave-fox-*.log"))
        assert len(saved) == 1, saved
        assert any(str(saved[0]) in notice for notice in notices(pilot.app))
        assert stat.S_IMODE(saved[0].stat().st_mode) == 0o600
        text = saved[0].read_text()
        for part in TRACEBACK.splitlines():
            assert part in text, part
        assert "2026-01-01T08:50:21+00:00 INFO     extract-0 extracted 120,000 rows" in text
        await pilot.press("s")  # the same second: a new file, the first kept
        await wait_until(pilot, lambda: len(list(tmp_path.glob("orc-brave-fox-*.log"))) == 2)


async def test_a_task_runs_logs_open_in_the_same_viewer_and_follow_it(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=(120, 40)) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await open_run(pilot, "brave-fox")
        await pilot.press("enter", "home", "enter")  # into the graph; enter on extract-0
        await wait_for_text(pilot, "Logs of task run extract-0")
        screen = pilot.app.screen
        assert isinstance(screen, TaskLogsScreen)
        text = screen_text(pilot.app)
        assert "extracted 120,000 rows" in text and "loaded 119,997" not in text
        daemon.push(
            "log",
            LogInfo(
                flow_run_id="run-0001", task_run_id="t-extract", ts=START + 30, level=20,
                logger="orc.task_runs", message="a late line from extract",
            ).model_dump(),
        )  # fmt: skip
        await wait_for_text(pilot, "a late line from extract")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, MainScreen), what="back")
