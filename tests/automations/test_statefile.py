"""The state file: saved after changes (debounced), atomically and user-only, restored on start."""

from __future__ import annotations

import asyncio
import json
import logging
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrate.automations import statefile
from orchestrate.automations.statefile import StateKeeper
from tests.automations.helpers import Clock, engine_from_toml, run_event

TEXT = """
[[automations]]
name = "three-strikes"
trigger = { event = "orc.flow-run.Failed", threshold = 3, within = "1h" }
actions = [{ type = "pause-deployment" }]

[[automations]]
name = "etl-silent"
trigger = { posture = "proactive", event = "orc.flow-run.Completed", within = "26h" }
actions = [{ type = "run-deployment", deployment = "nightly-etl" }]
"""


async def until(check: Callable[[], object], what: str, timeout: float = 5.0) -> None:
    """Wait for `check()` to hold, letting the loop run the keeper's timers meanwhile."""
    try:
        async with asyncio.timeout(timeout):
            while not check():
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}") from None


async def test_a_pause_is_written_at_once_and_restored_by_the_next_start(
    tmp_path: Path, clock: Clock
) -> None:
    path = tmp_path / "automations.json"
    engine = engine_from_toml(TEXT, clock)
    keeper = StateKeeper(engine, path, delay=60.0)
    engine.pause("etl-silent")
    keeper.changed(soon=True)
    await until(path.exists, "the state file")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["automations.json"]  # no temp file left

    again = engine_from_toml(TEXT, clock)
    StateKeeper(again, path).restore()
    assert again.describe("etl-silent").enabled is False


async def test_a_burst_of_events_is_written_once(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[str] = []
    real_write = statefile.write_snapshot

    def counting_write(path: Path, text: str) -> None:
        writes.append(text)
        real_write(path, text)

    monkeypatch.setattr(statefile, "write_snapshot", counting_write)
    path = tmp_path / "automations.json"
    engine = engine_from_toml(TEXT, clock)
    keeper = StateKeeper(engine, path, delay=0.05)
    for _ in range(2000):
        engine.on_event(run_event(clock, "Failed"))
        keeper.changed()
    assert not path.exists()  # nothing is written while the events keep coming
    await until(path.exists, "the debounced save")
    assert len(writes) == 1
    assert engine.describe("three-strikes").fired_count == 666
    assert json.loads(path.read_text())["automations"]["three-strikes"]["fired_count"] == 666


async def test_close_writes_what_changed_since_the_last_save(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "automations.json"
    engine = engine_from_toml(TEXT, clock)
    keeper = StateKeeper(engine, path, delay=60.0)
    engine.on_event(run_event(clock, "Failed"))
    keeper.changed()  # not due for a minute
    await keeper.close()
    saved = json.loads(path.read_text())["automations"]["three-strikes"]["trigger"]
    assert len(saved["windows"][0][1]) == 1


@pytest.mark.parametrize("content", ["{not json", '{"format": 1}', "[]", "\xff\xfe"])
def test_an_unreadable_file_is_reported_and_the_automations_start_fresh(
    tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture, content: str
) -> None:
    path = tmp_path / "automations.json"
    path.write_text(content, encoding="latin-1")
    engine = engine_from_toml(TEXT, clock)
    with caplog.at_level(logging.WARNING, "orc.automations"):
        StateKeeper(engine, path).restore()
    assert f"{path} is unreadable" in caplog.text and "start fresh" in caplog.text
    assert engine.describe("etl-silent").enabled is True
    assert engine.next_deadline() == clock() + 26 * 3600


def test_a_missing_file_is_a_first_start(
    tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    engine = engine_from_toml(TEXT, clock)
    with caplog.at_level(logging.INFO, "orc.automations"):
        StateKeeper(engine, tmp_path / "automations.json").restore()
    assert caplog.text == ""


async def test_a_failed_write_is_reported_once_and_does_not_raise(
    tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "gone" / "automations.json"
    engine = engine_from_toml(TEXT, clock)
    keeper = StateKeeper(engine, path, delay=0.01)
    with caplog.at_level(logging.WARNING, "orc.automations"):
        engine.pause("etl-silent")
        keeper.changed(soon=True)
        await until(lambda: "could not save" in caplog.text, "the warning")
        engine.resume("etl-silent")
        keeper.changed(soon=True)
        await keeper.close()
    assert caplog.text.count("could not save") == 1


async def test_saved_writes_now_what_would_have_waited_for_the_delay(
    tmp_path: Path, clock: Clock
) -> None:
    path = tmp_path / "automations.json"
    engine = engine_from_toml(TEXT, clock)
    keeper = StateKeeper(engine, path, delay=60.0)
    for _ in range(3):
        engine.on_event(run_event(clock, "Failed"))
        keeper.changed()
    async with asyncio.timeout(5):
        await keeper.saved()
    assert json.loads(path.read_text())["automations"]["three-strikes"]["fired_count"] == 1
    assert keeper.saves == 1
    async with asyncio.timeout(5):
        await keeper.saved()  # nothing new: nothing written
    assert keeper.saves == 1


async def test_saved_returns_when_the_write_fails(
    tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """A firing's actions wait on the save: a full disk must not hold them for ever."""
    path = tmp_path / "missing" / "automations.json"
    engine = engine_from_toml(TEXT, clock)
    keeper = StateKeeper(engine, path, delay=60.0, log=logging.getLogger("test.statefile"))
    engine.on_event(run_event(clock, "Failed"))
    keeper.changed()
    with caplog.at_level(logging.WARNING, "test.statefile"):
        async with asyncio.timeout(5):
            await keeper.saved()
    assert "could not save their state" in caplog.text
