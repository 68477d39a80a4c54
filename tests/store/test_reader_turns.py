"""A busy writer keeps the file until someone asks for a turn, and every reader still gets one.

Letting go of the file costs DuckDB a checkpoint and the next open: on a long
flow, letting go every second whether anyone waited or not was a third of
what recording cost. orc's own readers and writers ask for their turn by
touching `<store>.turn` when they find the file held; a reader that does not
(the DuckDB CLI, an older orc) still gets a turn within `UNASKED_HOLD`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from orchestrate.core.records import LogRecord
from orchestrate.store import StoreWriter, file_hold
from orchestrate.store.file_hold import FileHold
from tests.store.busy_writer import logging_without_pause


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / ".orc" / "orc.duckdb"


@pytest.fixture
def opens(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """When the writer opened the file (the real open, counted)."""
    times: list[float] = []
    real = FileHold._open

    def counted(self: FileHold) -> object:
        times.append(time.monotonic())
        return real(self)

    monkeypatch.setattr(FileHold, "_open", counted)
    return times


@pytest.fixture
def busy(path: Path, build: SimpleNamespace) -> Iterator[StoreWriter]:
    """A writer given log lines without pause, like a long flow."""
    writer = StoreWriter(path)
    writer.put(build.flow_run("busy"))
    assert writer.flush(10)
    with logging_without_pause(writer, per_round=50, pause=0.005):
        yield writer
    writer.close()


def test_a_busy_writer_nobody_waits_for_keeps_the_file(
    monkeypatch: pytest.MonkeyPatch, opens: list[float], path: Path, build: SimpleNamespace
) -> None:
    monkeypatch.setattr(file_hold, "MAX_HOLD", 0.05)
    monkeypatch.setattr(file_hold, "UNASKED_HOLD", 60.0)
    writer = StoreWriter(path)
    try:
        deadline = time.monotonic() + 1.0
        i = 0
        while time.monotonic() < deadline:  # twenty times MAX_HOLD of steady work
            writer.put(LogRecord("f", None, 1_700_000_000 + i, 20, "orc", f"line {i}"))
            i += 1
            assert writer.flush(10)
        assert len(opens) == 1, [t - opens[0] for t in opens]
    finally:
        writer.close()


READER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from orchestrate.store import Store
    started = time.monotonic()
    with Store(Path(sys.argv[1]), lock_timeout=20) as store:
        print(len(store.list_flow_runs()), round(time.monotonic() - started, 3))
    """
)

RAW_READER = textwrap.dedent(
    """
    import sys, time, duckdb
    started = time.monotonic()
    while True:  # a reader that knows nothing of orc's turns: it only retries
        try:
            conn = duckdb.connect(sys.argv[1], read_only=True)
            break
        except duckdb.Error:
            if time.monotonic() - started > 20:
                raise
            time.sleep(0.01)
    print(conn.execute("SELECT count(*) FROM flow_runs").fetchone()[0], round(time.monotonic() - started, 3))
    """
)


def _read(code: str, path: Path) -> tuple[str, float]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run([sys.executable, "-c", code, str(path)], env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    count, waited = result.stdout.split()
    return count, float(waited)


def test_orcs_reader_asks_and_gets_its_turn_from_a_busy_writer(
    monkeypatch: pytest.MonkeyPatch, busy: StoreWriter, path: Path
) -> None:
    monkeypatch.setattr(file_hold, "UNASKED_HOLD", 120.0)  # only asking can get it in
    count, _ = _read(READER, path)
    assert count == "1"
    assert path.with_name(path.name + ".turn").exists()


def test_a_reader_that_does_not_ask_still_gets_a_turn(
    monkeypatch: pytest.MonkeyPatch, busy: StoreWriter, path: Path
) -> None:
    monkeypatch.setattr(file_hold, "UNASKED_HOLD", 1.0)
    count, waited = _read(RAW_READER, path)
    assert count == "1"
    assert waited < 15


def test_the_file_counts_as_held_until_duckdb_has_closed_it(tmp_path: Path) -> None:
    """Closing checkpoints and frees what DuckDB kept of the file; until it is done, it is held.

    Who waits for the writer to let go (a reader, a measure of memory) must not
    be told it did while the close is still writing back.
    """
    hold = FileHold(tmp_path / "orc.duckdb", lock_timeout=5, shared=None)
    real = hold.connection()
    seen_while_closing: list[bool] = []

    class Closing:
        def close(self) -> None:
            seen_while_closing.append(hold.conn is not None)
            real.close()

    hold.conn = Closing()  # type: ignore[assignment]
    hold.release()
    assert seen_while_closing == [True]
    assert hold.conn is None
