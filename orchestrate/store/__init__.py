"""The embedded DuckDB store: schema and migrations, the batching writer, the read queries.

This is the only package that imports duckdb, and it does so lazily (inside
the writer thread and when a `Store` opens). The names below load on first
use, so a command that only reads (`orchestrate.store.queries`) never pays
for the writer's modules.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrate.store.queries import Store
    from orchestrate.store.views import FlowRunView, LogLine, RunState, StateEntry, TaskRunView
    from orchestrate.store.writer import StoreWriter

_HOMES = {
    "FlowRunView": "views",
    "LogLine": "views",
    "RunState": "views",
    "StateEntry": "views",
    "Store": "queries",
    "TaskRunView": "views",
    "StoreWriter": "writer",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"orchestrate.store.{_HOMES[name]}"), name)


__all__ = [
    "FlowRunView",
    "LogLine",
    "RunState",
    "StateEntry",
    "Store",
    "StoreWriter",
    "TaskRunView",
]
