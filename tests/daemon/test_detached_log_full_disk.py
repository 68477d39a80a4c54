"""The detached daemon's log on a full disk: the lines it could not write are said, once room is back.

A real small tmpfs holds the log; mounting needs root (or CAP_SYS_ADMIN), so the
test is skipped where mounting is refused.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fault.disk import MountRefused, small_tmpfs

SCRIPT = textwrap.dedent("""
    import logging, sys
    from pathlib import Path
    from orchestrate.daemon.detach import RotatingLog
    from orchestrate.daemon.logs import JsonFormatter

    disk = Path(sys.argv[1])
    handler = RotatingLog(disk / "orc.log")
    if sys.argv[2] == "json":
        handler.setFormatter(JsonFormatter())
    log = logging.getLogger("orchestrate.daemon.test")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.info("before the disk filled")
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(bytes(65536))
        except OSError:
            pass
    for i in range(50):
        log.info("line %d while the disk is full %s", i, "x" * 200)
    filler.unlink()
    log.info("after room came back")
""")


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    try:
        with small_tmpfs(tmp_path / "disk", "1m") as mount:
            yield mount
    except MountRefused as refused:
        pytest.skip(str(refused))


def _count(notice: str) -> int:
    """N of "N line(s) of this log could not be written …"."""
    found = re.search(r"(\d+) line\(s\) of this log could not be written", notice)
    assert found, notice
    return int(found.group(1))


def _run(disk: Path, log_format: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", SCRIPT, str(disk), log_format],
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_lines_lost_to_a_full_disk_are_counted_in_the_log_once_room_is_back(disk: Path) -> None:
    done = _run(disk, "human")
    assert done.returncode == 0, done.stderr
    lines = (disk / "orc.log").read_text().splitlines()
    assert lines[0].endswith("before the disk filled")
    assert lines[-1].endswith("after room came back")
    kept = [line for line in lines if "while the disk is full" in line]
    assert all(line.endswith("x" * 200) for line in kept), "a lost line was half kept"
    assert len(kept) < 50, "the disk never filled"
    said = [n for n, line in enumerate(lines) if "could not be written" in line]
    assert said, "no line says what was lost"
    assert sum(_count(lines[n]) for n in said) == 50 - len(kept)
    assert all("No space left on device" in lines[n] for n in said)
    assert all("could not be written" not in lines[n + 1] for n in said), (
        "a notice is followed by a kept line"
    )
    assert "Logging error" not in done.stderr + (disk / "orc.log").read_text()


def test_the_loss_is_said_in_the_log_s_own_format(disk: Path) -> None:
    done = _run(disk, "json")
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in (disk / "orc.log").read_text().splitlines()]
    assert [e["message"] for e in entries][-1] == "after room came back"
    kept = sum("while the disk is full" in e["message"] for e in entries)
    said = [e for e in entries if "could not be written" in e["message"]]
    assert sum(_count(e["message"]) for e in said) == 50 - kept
    assert {e["level"] for e in said} == {"WARNING"}
