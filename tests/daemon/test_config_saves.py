"""How `orc up` takes saves of flows.toml that are not a plain edit seen at once.

- A save caught half-way: an editor or `cat >` that empties the file before it
  writes it leaves it empty for a moment. Taken as the new config, that removed
  every deployment and withdrew all their scheduled runs, then planned them all
  again under new ids a moment later.
- A save the file-system watch does not see: a flows.toml that is a link to a
  file kept elsewhere (configuration management), or one written while `orc up`
  was starting, before its watch began. The file is also checked every
  `CONFIG_POLL` seconds, so such a save is applied within that.
"""

from __future__ import annotations

from tests.daemon.conftest import Project, wait_for

FLOWS = """
    from orchestrate import flow


    @flow
    def hello() -> None:
        print("hello")
"""

ONE = """
    [project]
    name = "p"

    [[deployments]]
    name = "hello"
    entrypoint = "flows.py:hello"
    schedules = [{ interval = "1h" }]
"""

TWO = (
    ONE
    + """
    [[deployments]]
    name = "later"
    entrypoint = "flows.py:hello"
"""
)


def _deployments(project: Project) -> list[str]:
    with project.client() as client:
        return sorted(d.name for d in client.deployments())


def _scheduled_ids(project: Project) -> set[str]:
    with project.client() as client:
        return {r.id for r in client.runs(limit=500, scheduled=True)}


def test_a_save_that_empties_flows_toml_is_refused_and_nothing_is_withdrawn(
    project: Project,
) -> None:
    project.write("flows.py", FLOWS)
    project.write("flows.toml", ONE)
    project.up()
    planned = wait_for(lambda: _scheduled_ids(project), 20, "the hourly slots planned")
    (project.root / "flows.toml").write_text("\n")

    def refused() -> str | None:
        with project.client() as client:
            return client.status().config_error

    error = wait_for(refused, 15, "the empty save refused")
    assert "flows.toml" in error and "empty" in error, error
    assert _deployments(project) == ["hello"]
    assert _scheduled_ids(project) == planned
    project.write("flows.toml", TWO)
    wait_for(lambda: _deployments(project) == ["hello", "later"], 15, "the full save applied")
    assert _scheduled_ids(project) == planned


def test_a_linked_flows_toml_reloads_when_the_file_it_points_to_is_saved(
    project: Project,
) -> None:
    kept = project.root / "kept"
    project.write("flows.py", FLOWS)
    project.write("kept/flows.toml", ONE)
    (project.root / "flows.toml").symlink_to(kept / "flows.toml")
    checked = project.orc("validate")
    assert checked.returncode == 0, checked.stdout + checked.stderr  # flows.py beside the link
    project.up()
    project.write("kept/flows.toml", TWO)  # no event where orc up watches
    wait_for(lambda: _deployments(project) == ["hello", "later"], 15, "the linked save applied")
