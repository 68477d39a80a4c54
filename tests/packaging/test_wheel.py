"""The wheel built from the tracked files works on its own: installed into a fresh venv,
`orc version`, `orc init`, `orc up --detach`, the dashboard (headless) and `orc down` run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(300)

#: The dashboard, headless, until it shows the main screen (which loads main.tcss) or fails.
DASHBOARD = textwrap.dedent("""
    import asyncio, sys
    from pathlib import Path
    from tui.app import OrcApp
    from tui.client import Target, daemon_connector

    async def main() -> None:
        app = OrcApp(daemon_connector(Target(project=Path(sys.argv[1]))), "smoke")
        async with app.run_test() as pilot:
            for _ in range(400):
                if type(app.screen).__name__ == "MainScreen":
                    break
                await pilot.pause(0.05)
            print(type(app.screen).__name__)

    asyncio.run(main())
""")


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ORC_HOME", "VIRTUAL_ENV")
    }
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=240)  # fmt: skip
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
    return done


def _checkout(into: Path) -> Path:
    """The tracked (and new, unignored) files only, as a clean checkout would have them."""
    listed = _run("git", "ls-files", "-co", "--exclude-standard", "-z", cwd=ROOT).stdout
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    return into


def test_the_wheel_installs_and_runs_in_a_fresh_venv(tmp_path: Path) -> None:
    source = _checkout(tmp_path / "src")
    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, source)
    (wheel,) = dist.glob("orc-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "tui/screens/main.tcss" in names
    assert {"orchestrate/py.typed", "tui/py.typed"} <= set(names)
    assert any(n.endswith("licenses/LICENSE") for n in names)
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA")))
    assert b"License-Expression: Apache-2.0" in metadata

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    _run(venv / "bin" / "pip", "install", "-q", "-c", ROOT / "constraints.txt", wheel)
    orc = venv / "bin" / "orc"
    assert "orc " in _run(orc, "version").stdout
    project = tmp_path / "project"
    _run(orc, "init", project)
    _run(orc, "validate", cwd=project)
    _run(orc, "up", "--detach", cwd=project)
    try:
        shown = _run(venv / "bin" / "python", "-c", DASHBOARD, project, cwd=tmp_path)
        assert shown.stdout.strip() == "MainScreen", shown.stderr
    finally:
        _run(orc, "down", cwd=project)
