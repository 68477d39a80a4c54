"""`orc tui` as a command: registered, documented, and loading Textual only when it runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120"}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )


def test_other_commands_never_load_textual_or_the_tui() -> None:
    out = run(
        "import sys, json\nfrom orchestrate.cli.app import app\nprint(json.dumps(sorted(sys.modules)))"
    )
    loaded = {name.split(".")[0] for name in json.loads(out.stdout.splitlines()[-1])}
    assert "textual" not in loaded and "tui" not in loaded


def test_orc_tui_help_names_its_options() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "orchestrate.cli", "tui", "--help"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120"}, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for option in ("--project", "--host", "--readonly"):
        assert option in result.stdout


def test_a_host_that_is_not_ssh_is_refused_with_the_form_to_use() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "orchestrate.cli", "tui", "--host", "http://box"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120"}, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "ssh://user@server" in result.stderr


def test_the_hint_to_start_a_remote_daemon_is_a_command_ssh_takes() -> None:
    """It said `ssh root@localhost:2222 orc up`: no ssh takes host:port, the project was
    dropped, and a foreground orc up dies with the ssh session that started it."""
    from orchestrate.cli.tui import start_hint

    assert start_hint("ssh://root@localhost:2222/tmp/qa-tui") == (
        "ssh -p 2222 root@localhost 'orc up --detach --project /tmp/qa-tui'"
    )
    assert start_hint("ssh://srv") == "ssh srv 'orc up --detach'"
