"""A deployment with `python`/`venv` of its own runs there, next to one on orc's interpreter;
an orc in that venv speaking another worker protocol is refused, with what to install."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from orchestrate._version import __version__
from orchestrate.worker.handshake import PROTOCOL
from tests.daemon.conftest import Project, wait_for
from tests.daemon.venvs import with_old_orc, with_orc

FLOWS = """
    import sys

    from orchestrate import flow


    @flow
    def where() -> None:
        print(f"interpreter={sys.executable}")
"""


@pytest.fixture(scope="module")
def other_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return with_orc(tmp_path_factory.mktemp("venvs") / "other")


@pytest.fixture(scope="module")
def old_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return with_old_orc(tmp_path_factory.mktemp("venvs") / "old")


def _interpreter(project: Project, deployment: str) -> str:
    done = project.orc("run", deployment, "--watch", "--json", timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr
    run_id = json.loads(done.stdout)["id"]
    lines = project.orc("logs", run_id).stdout.splitlines()
    return next(line.split("interpreter=")[1] for line in lines if "interpreter=" in line)


def test_a_deployment_runs_under_its_own_venv_next_to_one_under_orcs(
    project: Project, other_python: Path
) -> None:
    project.write("flows.py", FLOWS)
    project.write(
        "flows.toml",
        f"""
        [[deployments]]
        name = "mine"
        entrypoint = "flows.py:where"

        [[deployments]]
        name = "theirs"
        entrypoint = "flows.py:where"
        venv = "{other_python.parent.parent}"
        """,
    )
    assert project.orc("validate").returncode == 0
    project.up()
    assert _interpreter(project, "theirs") == str(other_python)
    assert _interpreter(project, "mine") == sys.executable

    def zygotes() -> list[dict[str, object]]:
        status = json.loads(project.orc("status", "--json").stdout)
        ready = [z for z in status["zygotes"] if z["state"] == "ready"]
        return ready if len(ready) == 2 else []

    found = {z["python"]: z for z in wait_for(zygotes, 30, "a ready zygote per interpreter")}
    assert set(found) == {str(other_python), sys.executable}
    assert all(isinstance(z["pid"], int) and z["up_since"] for z in found.values())
    assert _interpreter(project, "theirs") == str(other_python)  # warm this time
    status = json.loads(project.orc("status", "--json").stdout)
    forks = {z["python"]: z["forks"] for z in status["zygotes"]}
    assert forks[str(other_python)] >= 1
    shown = project.orc("status").stdout
    assert f"zygote {other_python}: ready pid {found[str(other_python)]['pid']}" in shown


def test_an_older_orc_in_the_venv_is_refused_with_what_to_install(
    project: Project, old_python: Path
) -> None:
    venv = old_python.parent.parent
    project.write("flows.py", FLOWS)
    project.write(
        "flows.toml",
        f"""
        [[deployments]]
        name = "old"
        entrypoint = "flows.py:where"
        retries = 2
        python = "{old_python}"
        """,
    )
    project.up()
    done = project.orc("run", "old", "--watch", "--json", timeout=90)
    assert done.returncode != 0
    run = json.loads(done.stdout)
    assert run["state_name"] == "Failed"
    expected = f"worker protocol v0 (orc 0.0.1), daemon speaks v{PROTOCOL}: install orc {__version__} in {venv}"
    assert expected in run["state_message"]
    assert len(project.runs(deployment="old")) == 1  # another attempt would end the same
    status = json.loads(project.orc("status", "--json").stdout)
    (zygote,) = [z for z in status["zygotes"] if z["python"] == str(old_python)]
    assert f"speaks protocol v0, the daemon v{PROTOCOL}" in zygote["last_cold_reason"]


def test_validate_names_the_line_of_an_interpreter_without_a_fitting_orc(
    project: Project, old_python: Path, tmp_path: Path
) -> None:
    project.write("flows.py", FLOWS)
    project.write(
        "flows.toml",
        f"""
        [defaults]
        python = "{old_python}"

        [[deployments]]
        name = "old"
        entrypoint = "flows.py:where"
        """,
    )
    done = project.orc("validate")
    assert done.returncode == 2
    assert "flows.toml:3:" in done.stderr and "defaults.python" in done.stderr
    assert (
        f"has orc 0.0.1 (worker protocol v0), this orc {__version__} speaks v{PROTOCOL}"
        in done.stderr
    )
    assert "install -e" in done.stderr or f"install orc=={__version__}" in done.stderr
