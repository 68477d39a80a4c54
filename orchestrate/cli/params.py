"""Reading `-p key=value` and `--params JSON`: one reading, with one set of errors, for every path.

Apart from the commands (`orchestrate.cli.flow`, `orchestrate.cli.control`)
so the quick path of `orc run NAME -p …` reads them without loading Typer.
"""

from __future__ import annotations

import json
from typing import Any

from orchestrate.core.errors import ParameterError


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """`["n=3", "name=Ford"]` → `{"n": 3, "name": "Ford"}`: JSON if it parses, else the text."""
    parsed: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ParameterError(
                f"-p {pair!r} is not of the form key=value; write it like -p days=3 "
                "or -p name=Ford (values are read as JSON when they parse, else as text)."
            )
        try:
            parsed[key.strip()] = json.loads(raw)
        except RecursionError as exc:
            raise ParameterError(
                f"-p {key.strip()}: the value is nested too deeply to read as JSON."
            ) from exc
        except ValueError:
            parsed[key.strip()] = raw
    return parsed


def param_texts(pairs: list[str]) -> dict[str, str]:
    """The `-p` values that read as JSON but not as a JSON string, as typed: `day=20261201`
    gives `{"day": "20261201"}`. Where the flow takes a string, the text is what is meant."""
    texts: dict[str, str] = {}
    for pair in pairs:  # the last `-p` of a name wins, as in `parse_params`
        key, _, raw = pair.partition("=")
        texts.pop(key.strip(), None)
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):
            continue
        if not isinstance(value, str | dict | list):
            texts[key.strip()] = raw
    return texts


def parse_params_json(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise ParameterError("--params is nested too deeply to read as JSON.") from exc
    except ValueError as exc:
        raise ParameterError(
            f"--params is not valid JSON ({exc}); give an object like --params '{{\"days\": 3}}'."
        ) from exc
    if not isinstance(value, dict):
        raise ParameterError(
            f"--params must be a JSON object, not {type(value).__name__}; "
            "give an object like --params '{\"days\": 3}'."
        )
    return value


def run_parameters(pairs: list[str], params_json: str | None) -> dict[str, Any]:
    """`--params` with each `-p` over it: what `orc run` and `orc flow run` send."""
    return {**parse_params_json(params_json), **parse_params(pairs)}
