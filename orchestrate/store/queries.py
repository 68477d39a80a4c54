"""Reading the store: the `Store` the CLI and the daemon open, and the views its reads return.

A `Store` is one read-only connection (`reader`) with two kinds of reads on
it: flow runs (`flow_run_reads`) and what else runs leave behind
(`record_reads`). Every read returns plain dataclasses (`views`) and reads a
row that does not fit its view anyway, noting what was wrong.
"""

from __future__ import annotations

from orchestrate.store.flow_run_reads import FlowRunReads
from orchestrate.store.record_reads import RecordReads

__all__ = ["Store"]


class Store(FlowRunReads, RecordReads):
    """Read access to one store file; use as a context manager.

    Args:
        path: the store file (`.orc/orc.duckdb`). A missing file reads as empty.
        lock_timeout: how long to wait for a writer in another process to let go.
    """
