"""The JSON Schema of `flows.toml`, for editors (taplo, Even Better TOML) and `orc schema`."""

from __future__ import annotations

from typing import Any

from orchestrate.config.models import FlowsFile

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_NULL = {"type": "null"}


def json_schema() -> dict[str, Any]:
    """The schema of the whole file, generated from the models the loader validates with."""
    schema = _without_null(FlowsFile.model_json_schema(mode="validation"))
    return {
        **schema,
        "$schema": SCHEMA_DIALECT,
        "title": "flows.toml",
        "description": "orc's project file: the project, [defaults], deployments and automations.",
    }


def _without_null(node: Any) -> Any:
    """TOML has no null: an optional key is one left out, so `null` is dropped from the schema."""
    if isinstance(node, list):
        return [_without_null(item) for item in node]
    if not isinstance(node, dict):
        return node
    cleaned = {
        key: _without_null(value)
        for key, value in node.items()
        if not (key == "default" and value is None)
    }
    options = cleaned.get("anyOf")
    if isinstance(options, list) and _NULL in options:
        kept = [option for option in options if option != _NULL]
        del cleaned["anyOf"]
        cleaned = {**kept[0], **cleaned} if len(kept) == 1 else {**cleaned, "anyOf": kept}
    return cleaned
