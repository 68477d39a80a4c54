"""Reloading flows.toml parses each flow file once per version of it: the daemon reloads on
every save, and a 50-deployment file points at the same flow file 50 times.

(How long a load takes is measured by `bench/config_load.py`, not asserted here.)
"""

from __future__ import annotations

import pytest

from bench.config_load import fifty_deployments
from orchestrate.config import checks, load_config, signature
from tests.config.conftest import Project


def test_a_flow_file_is_parsed_once_for_fifty_deployments_and_every_reload(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[str] = []
    for module, name in ((checks, "_read_names"), (signature, "_read_signatures")):
        real = getattr(module, name)
        monkeypatch.setattr(
            module, name, lambda path, real=real: parsed.append(path.name) or real(path)
        )
    project.write(fifty_deployments())
    for _ in range(5):
        config = load_config(project.file)
    assert len(config.deployments) == 50
    assert sorted(parsed) == ["etl.py", "etl.py"]  # its names, and its flows' signatures

    flow_file = project.root / "examples" / "etl.py"
    flow_file.write_text(flow_file.read_text() + "\n# edited\n")
    load_config(project.file)
    assert sorted(parsed) == ["etl.py"] * 4  # an edit is seen at the next load
