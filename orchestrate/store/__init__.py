"""The embedded DuckDB store: schema and migrations, the batching writer, the read queries.

This is the only package that imports duckdb, and it does so lazily (inside
the writer thread and when a `Store` opens), so importing it costs nothing.
"""

from orchestrate.store.queries import (
    FlowRunView,
    LogLine,
    RunState,
    StateEntry,
    Store,
    TaskRunView,
)
from orchestrate.store.writer import StoreWriter

__all__ = [
    "FlowRunView",
    "LogLine",
    "RunState",
    "StateEntry",
    "Store",
    "StoreWriter",
    "TaskRunView",
]
