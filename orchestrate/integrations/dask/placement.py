"""Where Dask may run a task run: the `dask.annotate(...)` in effect when it was submitted.

Prefect documents `with dask.annotate(resources={"GPU": 1}): task.submit()`
to run a task only on workers with a GPU. The annotations in effect at
`.submit()` (a context variable, so per thread and per task run) are read
once and given to every attempt of that task run as `Client.submit` options.
Dask's own `retries` annotation is left out: orc retries under the task's
policy, and a Dask retry would run the body again behind orc's back.
"""

from __future__ import annotations

from typing import Any

#: The annotations `distributed.Client.submit` takes as options of one task.
PLACEMENT_KEYS = ("resources", "priority", "workers", "allow_other_workers")

#: Options for `Client.submit`; empty when nothing was annotated.
SubmitOptions = dict[str, Any]


def submit_options(key: str) -> SubmitOptions:
    """The placement annotations in effect now; callable ones are given `key`, as Dask does."""
    import dask

    annotations = dask.get_annotations()
    if not annotations:
        return {}
    options = {
        name: value(key) if callable(value) else value
        for name, value in annotations.items()
        if name in PLACEMENT_KEYS
    }
    if isinstance(options.get("workers"), str):
        options["workers"] = [options["workers"]]
    return options
