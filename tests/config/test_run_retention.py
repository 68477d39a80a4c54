"""`run_retention`: a duration in [project], overridden per deployment, unset by default."""

from __future__ import annotations

from datetime import timedelta

from tests.config.conftest import Project


def test_run_retention_is_unset_by_default_and_a_deployment_overrides_it(project: Project) -> None:
    assert project.load('[project]\nname = "demo"\n').project.run_retention is None
    config = project.load("""
        [project]
        run_retention = "90d"

        [[deployments]]
        name = "nightly"
        entrypoint = "examples/etl.py:nightly"
        run_retention = "7d"

        [[deployments]]
        name = "cleanup"
        entrypoint = "examples/etl.py:cleanup"
    """)
    assert config.project.run_retention == timedelta(days=90)
    nightly, cleanup = config.deployments
    assert nightly.run_retention == timedelta(days=7)
    assert cleanup.run_retention is None


def test_a_run_retention_of_zero_names_the_place_and_the_fix(project: Project) -> None:
    [error] = project.errors('[project]\nrun_retention = "0s"\n')
    assert error.startswith("flows.toml:2:17 project.run_retention:"), error
    assert "would keep no runs" in error
