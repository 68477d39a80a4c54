"""`orc service install --dry-run` prints the unit; without systemd, install says so clearly."""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.daemon.conftest import ORC, Project, wait_for

pytestmark = pytest.mark.timeout(120)


def _orc(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home)}
    return subprocess.run([ORC, *args], capture_output=True, text=True, timeout=60, env=env)


def test_dry_run_prints_the_user_unit_line_by_line(tmp_path: Path) -> None:
    root = tmp_path / "my project"
    root.mkdir()
    result = _orc(
        "service", "install", "--user", "--dry-run", "--project", str(root), home=tmp_path
    )
    assert result.returncode == 0, result.stderr
    orc = Path(sys.executable).parent / "orc"
    assert result.stdout.splitlines() == [
        f"# {tmp_path}/.config/systemd/user/orc-my-project.service",
        "[Unit]",
        f"Description=orc daemon for {root}",
        "After=network-online.target",
        "Wants=network-online.target",
        "",
        "[Service]",
        "Type=notify",
        "NotifyAccess=main",
        f"ExecStart={orc} up --project '{root}' --grace 30",
        f"WorkingDirectory={root}",
        f"EnvironmentFile=-{tmp_path}/.config/orc/my-project.env",
        "Restart=on-failure",
        "RestartSec=5",
        "KillMode=mixed",
        "TimeoutStopSec=60",
        "WatchdogSec=60",
        "",
        "[Install]",
        "WantedBy=default.target",
    ]
    assert not (tmp_path / ".config").exists(), "--dry-run wrote a file"


def test_a_system_unit_runs_as_this_user_for_the_multi_user_target(tmp_path: Path) -> None:
    result = _orc(
        "service", "install", "--system", "--dry-run", "--project", str(tmp_path), home=tmp_path
    )
    lines = result.stdout.splitlines()
    assert lines[0] == f"# /etc/systemd/system/orc-{tmp_path.name}.service"
    assert f"User={getpass.getuser()}" in lines
    assert f"EnvironmentFile=-/etc/orc/{tmp_path.name}.env" in lines
    assert lines[-1] == "WantedBy=multi-user.target"


def _has_user_systemd() -> bool:
    if not Path("/run/systemd/system").is_dir() or shutil.which("systemctl") is None:
        return False
    probe = subprocess.run(
        ["systemctl", "--user", "is-system-running"], capture_output=True, text=True
    )
    return probe.stdout.strip() in ("running", "degraded")


@pytest.mark.skipif(_has_user_systemd(), reason="this machine runs systemd")
def test_without_systemd_install_says_so_and_writes_nothing(tmp_path: Path) -> None:
    result = _orc("service", "install", "--project", str(tmp_path), home=tmp_path)
    assert result.returncode == 5
    assert "does not run systemd" in result.stderr
    assert "orc up --detach" in result.stderr
    assert not (tmp_path / ".config").exists()


@pytest.mark.skipif(not _has_user_systemd(), reason="no systemd --user on this machine")
def test_a_real_user_service_starts_answers_and_stops(project: Project) -> None:
    project.write("flows.toml", '[project]\nname = "svc"\n')
    installed = project.orc("service", "install", "--user")
    assert installed.returncode == 0, installed.stderr
    try:
        wait_for(
            lambda: project.orc("status").returncode == 0, 30, "the service's daemon to answer"
        )
        assert "ActiveState: active" in project.orc("service", "status").stdout
    finally:
        removed = project.orc("service", "uninstall")
    assert removed.returncode == 0, removed.stderr
    assert project.orc("status").returncode == 5
