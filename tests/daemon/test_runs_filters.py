"""`orc runs ls` filters answered by a real `orc up`."""

from __future__ import annotations

import json

from tests.daemon.conftest import FLOWS, Project


def test_filters_through_the_daemon(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "tiny"
        entrypoint = "flows.py:tiny"
        tags = ["small"]

        [[deployments]]
        name = "fails"
        entrypoint = "flows.py:fails"
        retries = 0
    """,
    )
    project.up()
    assert project.orc("run", "tiny", "--watch").returncode == 0
    assert project.orc("run", "fails", "--watch").returncode == 1

    def ids(*args: str) -> list[str]:
        result = project.orc("runs", "ls", "--json", *args)
        assert result.returncode == 0, result.stderr
        return [r["deployment"] for r in json.loads(result.stdout)]

    assert ids("--state", "Failed", "--state", "Crashed") == ["fails"]
    assert ids("--flow", "tiny") == ["tiny"]
    assert ids("--tag", "small", "--since", "1h") == ["tiny"]
    assert ids("--until", "1h") == []
    assert ids("--sort", "created") == ["fails", "tiny"]
    assert ids("--sort", "created", "--reverse") == ["tiny", "fails"]
    none = project.orc("runs", "ls", "--deployment", "tiny", "--state", "Failed")
    assert "No flow runs match --state Failed --deployment tiny." in none.stdout
