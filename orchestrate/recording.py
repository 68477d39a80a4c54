"""Which sink this process records runs into.

By default a flow run called from plain Python records into the project's
embedded store through a background batching writer, so the caller never
waits on DuckDB. A worker or a test can install another sink.
"""

from __future__ import annotations

import atexit
import os
import threading

from orchestrate.records import Record, RecordSink

_sink: RecordSink | None = None
_lock = threading.Lock()


class NullSink:
    """Records nothing (`ORC_RECORD=0`)."""

    def put(self, record: Record) -> None:
        pass

    def flush(self, timeout: float | None = None) -> bool:
        return True

    def close(self) -> None:
        pass


def get_sink() -> RecordSink:
    """The sink of this process, created on first use."""
    global _sink
    if _sink is None:
        with _lock:
            if _sink is None:
                _sink = _default_sink()
    return _sink


def set_sink(sink: RecordSink | None) -> RecordSink | None:
    """Install `sink` for this process (None: back to the default); returns the old one."""
    global _sink
    with _lock:
        previous, _sink = _sink, sink
    return previous


def _default_sink() -> RecordSink:
    if os.environ.get("ORC_RECORD", "1") == "0":
        return NullSink()
    from orchestrate.project import project_root, store_path
    from orchestrate.store.writer import StoreWriter

    writer = StoreWriter(store_path(project_root()))
    atexit.register(writer.close)
    return writer
