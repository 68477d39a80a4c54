"""Running the real `orc` command in a subprocess against a store in `tmp_path`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

Orc = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def orc(tmp_path: Path) -> Orc:
    """`orc("runs", "ls")` runs `python -m orchestrate.cli runs ls` in `tmp_path` with ORC_HOME there."""

    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "ORC_HOME": str(tmp_path), "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
        return subprocess.run(
            [sys.executable, "-m", "orchestrate.cli", *args],
            cwd=cwd or tmp_path, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    return run


def parse_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
