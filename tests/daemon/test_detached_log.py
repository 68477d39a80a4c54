"""The detached daemon's log rotates, and stray output follows it into the current file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent("""
    import logging, sys
    from pathlib import Path
    from orchestrate.daemon.detach import RotatingLog

    handler = RotatingLog(Path(sys.argv[1]), max_bytes=400)
    log = logging.getLogger("rotation")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    for i in range(40):
        log.info("line %d of the daemon's log", i)
    print("a stray print after the rollover", file=sys.stderr, flush=True)
""")


def test_the_log_rotates_and_stderr_follows_the_current_file(tmp_path: Path) -> None:
    log = tmp_path / "orc.log"
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(log)], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "orc.log.1").exists()
    assert not (tmp_path / "orc.log.6").exists(), "more old logs kept than LOG_BACKUPS"
    current = log.read_text()
    assert "line 39 of the daemon's log" in current
    assert "a stray print after the rollover" in current
    assert log.stat().st_size < 1000
