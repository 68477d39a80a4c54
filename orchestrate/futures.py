"""Futures of submitted task runs (Prefect's `prefect.futures`).

A future resolves to the task run's final `State`; `.result()` unwraps it.
"""

from orchestrate.engine import (
    DoneAndNotDoneFutures,
    PrefectFuture,
    PrefectFutureList,
    as_completed,
    resolve_futures_to_results,
    resolve_futures_to_states,
    wait,
)

__all__ = [
    "DoneAndNotDoneFutures",
    "PrefectFuture",
    "PrefectFutureList",
    "as_completed",
    "resolve_futures_to_results",
    "resolve_futures_to_states",
    "wait",
]
