"""Moved to `orchestrate.config.signature`, where `flows.toml` checks use it too."""

from orchestrate.config.signature import parameter_schema, validate_parameters

__all__ = ["parameter_schema", "validate_parameters"]
