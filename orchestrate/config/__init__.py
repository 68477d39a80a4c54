"""`flows.toml`: its models, loading with file:line:column errors, and its JSON Schema.

    config = load_config(root / "flows.toml")   # raises ConfigError listing every issue
    config.deployment("nightly-etl").fingerprint()

The file's folder is the project root: entrypoints, `working_dir` and `watch`
are relative to it.
"""

from __future__ import annotations

from orchestrate.config.checks import entrypoint_problem
from orchestrate.config.issues import ConfigIssue, SourceFile, issues_from_validation_error
from orchestrate.config.loader import display_name, load_config, parse_config
from orchestrate.config.locate import FieldPath, Position, SourceMap, format_path
from orchestrate.config.models import (
    DefaultsSection,
    DeploymentSpec,
    FlowsFile,
    FromEnv,
    ProjectSection,
    TaskRunnerConfig,
)
from orchestrate.config.resolved import (
    Deployment,
    DeploymentDiff,
    ProjectConfig,
    ProjectSettings,
    diff_deployments,
)
from orchestrate.config.schema import json_schema
from orchestrate.errors import ConfigError

__all__ = [
    "ConfigError",
    "ConfigIssue",
    "DefaultsSection",
    "Deployment",
    "DeploymentDiff",
    "DeploymentSpec",
    "FieldPath",
    "FlowsFile",
    "FromEnv",
    "Position",
    "ProjectConfig",
    "ProjectSection",
    "ProjectSettings",
    "SourceFile",
    "SourceMap",
    "TaskRunnerConfig",
    "diff_deployments",
    "display_name",
    "entrypoint_problem",
    "format_path",
    "issues_from_validation_error",
    "json_schema",
    "load_config",
    "parse_config",
]
