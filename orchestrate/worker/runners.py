"""The task runner a deployment's `task_runner` setting in flows.toml asks for."""

from __future__ import annotations

from typing import Any

from orchestrate.core.errors import OrcError
from orchestrate.engine.runners import TaskRunner, ThreadPoolTaskRunner


class InvalidTaskRunnerSpec(OrcError, ValueError):
    """A `task_runner` setting that does not describe a task runner."""


#: The keys each runner type takes: flows.toml's models, the schema and the runners'
#: arguments hold the same ones (tests/config/test_task_runner.py keeps them equal).
SPEC_KEYS = {
    "thread": {"type", "max_workers"},
    "dask": {
        "type",
        "address",
        "cluster_class",
        "cluster_kwargs",
        "adapt_kwargs",
        "client_kwargs",
        "keep_results_over",
    },
}


def task_runner_from_spec(spec: str | dict[str, Any] | None) -> TaskRunner:
    """The runner a deployment's `task_runner` setting asks for (threads when it is not set).

    Args:
        spec: `"thread"`, `"dask"`, `{ type = "thread", max_workers = 8 }` or
            `{ type = "dask", address = "tcp://host:8786", client_kwargs = {...} }` (the keys
            of `SPEC_KEYS`); a key set to None counts as not set.

    Raises:
        InvalidTaskRunnerSpec: the setting names no known runner or has keys it does not take.
    """
    if spec is None:
        return ThreadPoolTaskRunner()
    if isinstance(spec, str):
        spec = {"type": spec}
    elif isinstance(spec, dict):  # null is not TOML: a key sent as null was not set
        spec = {key: value for key, value in spec.items() if value is not None}
    if not isinstance(spec, dict):
        raise InvalidTaskRunnerSpec(
            f'task_runner must be "thread", "dask" or a table like {{ type = "dask" }}, '
            f"not {spec!r}."
        )
    kind = spec.get("type")
    if kind not in SPEC_KEYS:
        raise InvalidTaskRunnerSpec(
            f'task_runner type {kind!r} is not known; use "thread" or "dask".'
        )
    unknown = sorted(set(spec) - SPEC_KEYS[kind])
    if unknown:
        raise InvalidTaskRunnerSpec(
            f"task_runner of type {kind!r} does not take {', '.join(unknown)}; "
            f"it takes {', '.join(sorted(SPEC_KEYS[kind] - {'type'}))}."
        )
    options = {key: value for key, value in spec.items() if key != "type"}
    _check_types(kind, options)
    if kind == "thread":
        return ThreadPoolTaskRunner(**options)
    from orchestrate.integrations.dask import DaskTaskRunner  # loads `distributed` only now

    try:
        runner: TaskRunner = DaskTaskRunner(**options)
    except ValueError as exc:  # settings that do not go together
        raise InvalidTaskRunnerSpec(f"task_runner of type 'dask': {exc}") from exc
    return runner


#: The TOML type each setting takes, as a user would write it.
_SPEC_TYPES: dict[str, tuple[type, str]] = {
    "max_workers": (int, "an integer"),
    "address": (str, "a string"),
    "cluster_class": (str, "a string"),
    "cluster_kwargs": (dict, "a table"),
    "adapt_kwargs": (dict, "a table"),
    "client_kwargs": (dict, "a table"),
    "keep_results_over": (int, "an integer"),
}


def _check_types(kind: str, options: dict[str, Any]) -> None:
    for key, value in options.items():
        expected, wanted = _SPEC_TYPES[key]
        if (value is not None and not isinstance(value, expected)) or isinstance(value, bool):
            raise InvalidTaskRunnerSpec(
                f"task_runner of type {kind!r}: {key} must be {wanted}, not {value!r}."
            )
    if options.get("max_workers") is not None and options["max_workers"] < 1:
        raise InvalidTaskRunnerSpec(f"task_runner of type {kind!r}: max_workers must be 1 or more.")
