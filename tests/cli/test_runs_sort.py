"""`orc runs ls --sort start|end|created|duration [--reverse]`: largest or latest first."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from orchestrate.core.project import store_path
from orchestrate.states import Completed, Running
from orchestrate.store import StoreWriter
from tests.cli.conftest import Orc, parse_json


@pytest.fixture
def runs(tmp_path: Path, build: SimpleNamespace) -> Path:
    """Created a, b, c, d in order; started c, a, b, d; ended b, c, a; took c < a < b."""
    now = time.time()
    writer = StoreWriter(store_path(tmp_path))
    for run_id, created, start, end in [
        ("a", now - 400, now - 300, now - 100),  # took 200
        ("b", now - 390, now - 250, now - 10),  # took 240
        ("c", now - 380, now - 350, now - 340),  # took 10
        ("d", now - 370, now - 5, None),  # running
    ]:
        state = Completed() if end else Running()
        writer.put(build.flow_run(run_id, state, created=created, expected_start_time=created,
                                  start_time=start, end_time=end))  # fmt: skip
    writer.close()
    return tmp_path


def _ids(orc: Orc, *args: str) -> list[str]:
    return [r["id"] for r in parse_json(orc("runs", "ls", "--json", *args))]


def test_each_sort_puts_the_latest_or_largest_first(runs: Path, orc: Orc) -> None:
    assert _ids(orc) == ["d", "c", "b", "a"]
    assert _ids(orc, "--sort", "created") == ["d", "c", "b", "a"]
    assert _ids(orc, "--sort", "start") == ["d", "b", "a", "c"]
    assert _ids(orc, "--sort", "end") == ["b", "a", "c", "d"]
    assert _ids(orc, "--sort", "duration") == ["b", "a", "c", "d"]


def test_reverse_puts_the_earliest_or_smallest_first_and_unknowns_still_last(
    runs: Path, orc: Orc
) -> None:
    assert _ids(orc, "--sort", "duration", "--reverse") == ["c", "a", "b", "d"]
    assert _ids(orc, "--sort", "start", "--reverse", "-n", "2") == ["c", "a"]
    assert _ids(orc, "--reverse") == ["a", "b", "c", "d"]


def test_an_unknown_sort_is_a_usage_error(runs: Path, orc: Orc) -> None:
    result = orc("runs", "ls", "--sort", "size")
    assert result.returncode == 2
    assert "--sort" in result.stderr
