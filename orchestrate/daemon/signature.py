"""Moved to `orchestrate.config.signature`, where `flows.toml` checks use it too."""

from orchestrate.config.signature import (
    flow_name,
    parameter_schema,
    strings_as_typed,
    validate_parameters,
)

__all__ = ["flow_name", "parameter_schema", "strings_as_typed", "validate_parameters"]
