"""`--project` naming no folder is a mistake said as one, not a project with no runs yet."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Orc


@pytest.mark.parametrize(
    "command", [["runs", "ls"], ["status"], ["sql", "SELECT 1"], ["up"], ["validate"]]
)
def test_a_missing_project_folder_exits_2_and_makes_nothing(
    tmp_path: Path, orc: Orc, command: list[str]
) -> None:
    missing = tmp_path / "projcet"
    result = orc(*command, "--project", str(missing))
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"--project {missing}: no such folder." in result.stderr
    assert not missing.exists()


def test_a_file_given_as_the_project_names_its_folder(tmp_path: Path, orc: Orc) -> None:
    (tmp_path / "flows.toml").write_text("[project]\nname = 'p'\n")
    result = orc("status", "--project", str(tmp_path / "flows.toml"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"give the folder that holds flows.toml (--project {tmp_path})" in result.stderr


def test_orc_flow_run_with_a_missing_project_records_nowhere(tmp_path: Path, orc: Orc) -> None:
    (tmp_path / "f.py").write_text("def hello() -> int:\n    return 1\n")
    missing = tmp_path / "projcet"
    result = orc("flow", "run", "f.py:hello", "--project", str(missing))
    assert result.returncode == 2, result.stdout + result.stderr
    assert not missing.exists()


@pytest.mark.parametrize("command", [["runs", "ls", "--json"], ["status"], ["sql", "SELECT 1"]])
def test_an_orc_home_naming_no_folder_is_said_as_such(tmp_path: Path, command: list[str]) -> None:
    """A cron job with a mistyped `ORC_HOME` read "No flow runs yet" or `[]`, exit 0."""
    missing = tmp_path / "projcet"
    done = subprocess.run(
        [sys.executable, "-m", "orchestrate.cli", *command], cwd=tmp_path,
        env={**os.environ, "ORC_HOME": str(missing)}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"ORC_HOME={missing}: no such folder." in done.stderr
    assert not missing.exists()
