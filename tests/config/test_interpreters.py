"""`python = "..."` / `venv = "..."`: where they point, how [defaults] and a deployment combine,
and the errors that name their line."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.config.conftest import Project


def _fake_interpreter(path: Path) -> Path:
    """An executable file where an interpreter is looked for (loading only checks it is one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_venv_and_python_resolve_against_the_project_and_home(
    project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    _fake_interpreter(project.root / "envs" / "etl" / "bin" / "python")
    _fake_interpreter(home / "py" / "bin" / "python3")
    config = project.load(
        """
        [defaults]
        venv = "envs/etl"

        [[deployments]]
        name = "a"
        entrypoint = "examples/etl.py:nightly"

        [[deployments]]
        name = "b"
        entrypoint = "examples/etl.py:nightly"
        python = "~/py/bin/python3"

        [[deployments]]
        name = "c"
        entrypoint = "examples/etl.py:nightly"
        """
    )
    pythons = {d.name: d.python for d in config.deployments}
    # a deployment's python replaces the venv of [defaults]: one setting, written two ways
    assert pythons == {
        "a": str(project.root / "envs" / "etl" / "bin" / "python"),
        "b": str(home / "py" / "bin" / "python3"),
        "c": str(project.root / "envs" / "etl" / "bin" / "python"),
    }
    # the symlink a venv's python is stays: resolving it would leave the venv
    link = project.root / "envs" / "link" / "bin" / "python"
    link.parent.mkdir(parents=True)
    os.symlink(project.root / "envs" / "etl" / "bin" / "python", link)
    again = project.load(
        """
        [[deployments]]
        name = "a"
        entrypoint = "examples/etl.py:nightly"
        venv = "envs/link"
        """
    )
    assert again.deployments[0].python == str(link)


def test_a_deployment_without_either_runs_under_orcs_own(project: Project) -> None:
    config = project.load(
        """
        [[deployments]]
        name = "a"
        entrypoint = "examples/etl.py:nightly"
        """
    )
    assert config.deployments[0].python is None
    assert "python" not in config.deployments[0].to_dict()


def test_both_in_one_table_is_an_error_at_its_line(project: Project) -> None:
    _fake_interpreter(project.root / "v" / "bin" / "python")
    errors = project.errors(
        """
        [[deployments]]
        name = "a"
        entrypoint = "examples/etl.py:nightly"
        python = "v/bin/python"
        venv = "v"
        """
    )
    assert errors == [
        "flows.toml:5:1 deployments[0].venv: python and venv both name the interpreter; keep "
        "one (venv = FOLDER means python = FOLDER/bin/python)"
    ]


def test_an_interpreter_that_is_not_there_or_not_executable_is_an_error(
    project: Project,
) -> None:
    (project.root / "plain").mkdir()
    (project.root / "plain" / "python").write_text("not executable")
    errors = project.errors(
        """
        [defaults]
        venv = "nowhere"

        [[deployments]]
        name = "a"
        entrypoint = "examples/etl.py:nightly"
        python = "plain/python"
        """
    )
    missing = project.root / "nowhere" / "bin" / "python"
    assert errors == [
        f'flows.toml:2:8 defaults.venv: no interpreter at {missing} (from "nowhere"); create it '
        f"(python3 -m venv {project.root / 'nowhere'}) or fix the path",
        f"flows.toml:7:10 deployments[0].python: {project.root / 'plain' / 'python'} (from "
        '"plain/python") is not an executable file; fix the path',
    ]
