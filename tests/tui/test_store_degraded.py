"""A store the daemon cannot write shows in the dashboard's banner, and leaves it once written again.

The daemon keeps what it cannot store in memory and retries; meanwhile lists
read from the store go stale, so the dashboard says so, with the reason, as
`orc status` does. The store's `.orc` folder sits on a small tmpfs that a
filler file fills (`tests.fault.disk`); skipped, with the reason, where
mounting is refused. Runs held for want of a run journal are made by a
journal folder that is a file, as in `tests/daemon/test_journal_refused.py`.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrate.client import AsyncClient
from tests.fault.disk import MountRefused, fill, small_tmpfs
from tests.tui.conftest import FLOWS_PY, FLOWS_TOML, orc_up
from tests.tui.screen import screen_text, wait_for_text, wait_until
from tests.tui.test_live_daemon import SIZE, SLOW, app_for, main_screen
from tui.messages import StatusChanged

pytestmark = pytest.mark.timeout(180)

SHOWS_WITHIN = 3.0  # seconds from the daemon's word to the banner: what "at once" means here
RECOVERS_WITHIN = 20.0  # the writer retries every 5 s at most, and the status follows


@pytest.fixture
def full_disk_daemon(tmp_path: Path) -> Iterator[Path]:
    """A real `orc up` whose `.orc` folder is a 32 MiB tmpfs; yields the project root."""
    try:
        with small_tmpfs(tmp_path / ".orc", "32m"), orc_up(tmp_path, FLOWS_TOML, FLOWS_PY) as root:
            yield root
    except MountRefused as refused:
        pytest.skip(f"a full disk needs a small tmpfs: {refused}")


async def degrade(client: AsyncClient, folder: Path) -> str:
    """Fill the store's disk and write until the daemon says the store is degraded; its reason."""
    filler = fill(folder)
    big = {"note": "x" * 100_000}  # a write that needs a new page (the WAL's last one may fit)
    for _ in range(600):
        await client.emit_event("acme.write", {"orc.resource.id": "acme.disk"}, big)
        status = await client.status()
        if status.store_health is not None:
            return status.store_health.reason
    raise AssertionError(f"the store never degraded with {filler} filling the disk")


async def test_a_full_disk_shows_in_the_banner_and_goes_once_freed(
    full_disk_daemon: Path,
) -> None:
    root = full_disk_daemon
    async with app_for(root).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "● fan ", timeout=SLOW)
        client = await AsyncClient.connect(root)
        try:
            reason = await degrade(client, root / ".orc")
        finally:
            await client.close()
        await wait_for_text(pilot, "store degraded:", timeout=SHOWS_WITHIN)
        said = " ".join(screen_text(pilot.app).split())
        assert " ".join(reason.split())[:40] in said, said
        assert "records waiting since" in said, said

        (root / "flows.toml").write_text(FLOWS_TOML + "\n[[deployments]\n")
        await wait_for_text(pilot, "flows.toml is invalid", timeout=SLOW)
        lines = screen_text(pilot.app).splitlines()
        store_line = next(i for i, line in enumerate(lines) if "store degraded:" in line)
        config_line = next(i for i, line in enumerate(lines) if "flows.toml is invalid" in line)
        assert store_line < config_line  # both hold: both show, the store first

        (root / ".orc" / "filler").unlink()
        await wait_until(
            pilot,
            lambda: "store degraded" not in screen_text(pilot.app),
            RECOVERS_WITHIN,
            "the banner to go once the store is written again",
        )
        assert "flows.toml is invalid" in screen_text(pilot.app)  # still true, still said
        (root / "flows.toml").write_text(FLOWS_TOML)
        await wait_until(
            pilot,
            lambda: not main_screen(pilot).query_one("#banner").display,
            SLOW,
            "the banner to go once flows.toml is good again",
        )


async def test_a_lost_connection_is_said_over_a_degraded_store(full_disk_daemon: Path) -> None:
    """The store's word is the daemon's, as last heard: once it is gone, the loss says more."""
    root = full_disk_daemon
    async with app_for(root).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "● fan ", timeout=SLOW)
        client = await AsyncClient.connect(root)
        try:
            await degrade(client, root / ".orc")
            pid = (await client.status()).pid
        finally:
            await client.close()
        await wait_for_text(pilot, "store degraded:", timeout=SHOWS_WITHIN)
        os.kill(pid, signal.SIGKILL)
        await wait_for_text(pilot, "connection lost", timeout=SLOW)
        assert "store degraded" not in screen_text(pilot.app)

        # A batch the feed posted just before the loss is handled after it: the status it
        # carries is the daemon's last word, and must not cover the loss either.
        screen = main_screen(pilot)
        assert screen.dashboard.status is not None
        screen.post_message(StatusChanged(screen.dashboard.status))
        await pilot.pause()
        said = screen_text(pilot.app)
        assert "connection lost" in said and "store degraded" not in said, said


async def test_runs_held_for_their_journals_show_in_the_banner_and_go_when_they_start(
    live_daemon: Path,
) -> None:
    root = live_daemon
    journals = root / ".orc" / "runs"
    async with app_for(root).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "● fan ", timeout=SLOW)
        shutil.rmtree(journals, ignore_errors=True)
        journals.write_text("not a folder: every journal of this project is refused")
        client = await AsyncClient.connect(root)
        try:
            await client.create_run("fan")
            await wait_for_text(pilot, "runs held", timeout=SLOW)
            said = " ".join(screen_text(pilot.app).split())
            assert "cannot write run journals" in said, said

            journals.unlink()
            journals.mkdir()
            await wait_until(
                pilot,
                lambda: "runs held" not in screen_text(pilot.app),
                SLOW,
                "the banner to go once a journal is written",
            )
        finally:
            await client.close()


def test_the_banner_says_when_running_flows_wait_for_the_store() -> None:
    """`RUNS PAUSED` in `orc status`: the flows that ran on are stalled, which the banner says."""
    from orchestrate.client.protocol import Status, StoreHealthInfo
    from tui.widgets.banner import store_words

    status = Status.model_construct(
        store_degraded="disk full",
        store_health=StoreHealthInfo(reason="disk full", waiting=100_000, since=None),
        starts_held=None,
        runs_paused="2 worker(s) waiting for the store",
    )
    words = store_words(status, str)
    assert words is not None
    assert "store degraded: disk full — 100000 records waiting" in words.plain
    assert "; running flows wait for it" in words.plain
