"""`flows.toml`: its models, loading with file:line:column errors, and its JSON Schema.

    config = load_config(root / "flows.toml")   # raises ConfigError listing every issue
    config.deployment("nightly-etl").fingerprint()

`load_config` raises nothing but `ConfigError`, whatever the file holds, and
checks every parameter in the file against its flow's signature (read with
`ast`). For values known only when a run is asked for (rendered templates,
`orc run -p`), `run_parameter_problems(deployment, config.root, values)` says
the same in the same words; `Deployment.blocked_reason(os.environ)` says why a
deployment with an unset `from_env` variable cannot run.

The file's folder is the project root: entrypoints, `working_dir` and `watch`
are relative to it.
"""

from __future__ import annotations

from orchestrate.config.checks import entrypoint_problem
from orchestrate.config.issues import (
    ConfigError,
    ConfigIssue,
    SourceFile,
    issues_from_validation_error,
)
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
from orchestrate.config.parameters import run_parameter_problems
from orchestrate.config.resolved import (
    Deployment,
    DeploymentDiff,
    ProjectConfig,
    ProjectSettings,
    diff_deployments,
)
from orchestrate.config.schema import json_schema
from orchestrate.config.signature import FlowSignature, flow_signature

__all__ = [
    "ConfigError",
    "ConfigIssue",
    "DefaultsSection",
    "Deployment",
    "DeploymentDiff",
    "DeploymentSpec",
    "FieldPath",
    "FlowSignature",
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
    "flow_signature",
    "format_path",
    "issues_from_validation_error",
    "json_schema",
    "load_config",
    "parse_config",
    "run_parameter_problems",
]
