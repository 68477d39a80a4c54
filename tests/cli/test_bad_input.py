"""Bad `-p`, `--params` and entrypoints exit 2 with a message, and leave the store as it was."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from orchestrate.project import store_path
from orchestrate.store import StoreWriter
from tests.cli.conftest import Orc, parse_json


@pytest.fixture
def old_run(tmp_path: Path, build: SimpleNamespace) -> str:
    writer = StoreWriter(store_path(tmp_path))
    writer.put(build.flow_run("old-run-1"))
    writer.close()
    (tmp_path / "etl.py").write_text("def nightly(n: int = 1) -> int:\n    return n\n")
    (tmp_path / "bad.py").write_text("def nightly(:\n    pass\n")
    return "old-run-1"


BAD_INPUTS = {
    "p without =": (["etl.py:nightly", "-p", "days"], ["'days'", "key=value", "-p days=3"]),
    "p without key": (["etl.py:nightly", "-p", "=3"], ["key=value"]),
    "params not json": (["etl.py:nightly", "--params", "{days"], ["--params", "not valid JSON"]),
    "params not object": (["etl.py:nightly", "--params", "[1]"], ["JSON object", "list"]),
    "no colon": (["etl.py"], ["PATH.py:FUNCTION"]),
    "missing file": (["nope/etl.py:nightly"], ["nope/etl.py: no such file"]),
    "missing function": (["etl.py:weekly"], ["etl.py has no 'weekly'", "nightly"]),
    "syntax error": (["bad.py:nightly"], ["bad.py:1:", "SyntaxError"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_exits_2_and_the_store_still_lists_old_runs(
    case: str, old_run: str, orc: Orc
) -> None:
    args, expected = BAD_INPUTS[case]
    result = orc("flow", "run", *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    for text in expected:
        assert text in result.stderr
    assert "Traceback" not in result.stderr
    assert [run["id"] for run in parse_json(orc("runs", "ls", "--json"))] == [old_run]
