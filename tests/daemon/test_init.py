"""`orc init` makes a project that validates and runs at once, and never overwrites one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.daemon.conftest import ORC, Project

pytestmark = pytest.mark.timeout(120)


def _orc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ORC, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("example", ["hello", "etl", "fanout"])
def test_each_example_validates_in_an_empty_folder(tmp_path: Path, example: str) -> None:
    made = _orc("init", "new", "--example", example, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    root = tmp_path / "new"
    config = (root / "flows.toml").read_text()
    assert config.startswith("#:schema ./flows.schema.json\n")
    assert '"properties"' in (root / "flows.schema.json").read_text()
    assert ".orc/" in (root / ".gitignore").read_text().splitlines()
    assert (root / "flows" / f"{example}.py").is_file()
    checked = _orc("validate", cwd=root)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "warning" not in (checked.stdout + checked.stderr).lower()


def test_the_scaffold_runs_under_orc_up(tmp_path: Path) -> None:
    assert _orc("init", cwd=tmp_path).returncode == 0
    project = Project(tmp_path)
    try:
        project.up()
        ran = project.orc("run", "hello", "--watch")
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert "Hello, Marvin!" in ran.stdout
        listed = project.orc("deployments", "ls")
        assert "every day at 09:00" in listed.stdout, listed.stdout
    finally:
        project.stop()


def test_init_refuses_to_overwrite_flows_toml(tmp_path: Path) -> None:
    (tmp_path / "flows.toml").write_text("# mine\n")
    refused = _orc("init", str(tmp_path), cwd=tmp_path)
    assert refused.returncode == 2
    assert "already exists" in refused.stderr
    assert (tmp_path / "flows.toml").read_text() == "# mine\n"
    assert not (tmp_path / "flows").exists()
    assert _orc("init", "other", "--example", "nope", cwd=tmp_path).returncode == 2
    assert not (tmp_path / "other").exists()
