"""Which sink this process records runs into.

By default a flow run called from plain Python records into the project's
embedded store through a background batching writer, so the caller never
waits on DuckDB. A worker or a test can install another sink.
"""

from __future__ import annotations

import atexit
import os
import threading

from orchestrate.core.records import Record, RecordSink

_sink: RecordSink | None = None
_lock = threading.Lock()
#: Records a flow recording in its own process may queue before it waits for the writer
#: (`StoreWriter`'s `pace_at`): ~8,000 plain task runs, a write of ~80 ms.
PACE_AT = 50_000


class NullSink:
    """Records nothing (`ORC_RECORD=0`)."""

    def put(self, record: Record) -> None:
        pass

    def flush(self, timeout: float | None = None) -> bool:
        return True

    def close(self) -> None:
        pass


class KeptSink(NullSink):
    """Keeps what is put, in order: a run's records as a worker's stream would ship them."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def put(self, record: Record) -> None:
        self.records.append(record)


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
    from orchestrate.core import secrets
    from orchestrate.core.project import CONFIG_FILE, project_root, socket_path, store_path

    root = project_root()
    masker = secrets.project_masker(root / CONFIG_FILE, os.environ)
    secrets.use(masker)  # what orc prints on the console is masked too
    if socket_path(root).exists():  # `orc up` holds the store: report through it (it masks)
        sink = _daemon_sink(root)
        if sink is not None:
            return sink
    from orchestrate.store.writer import StoreWriter

    writer = StoreWriter(store_path(root), pace_at=PACE_AT)
    atexit.register(writer.close)
    if not masker:
        return writer
    from orchestrate.recording.masked import MaskedSink

    return MaskedSink(writer, masker)


class _ClientStream:
    """The byte-stream face of a daemon connection, for the record sink."""

    def __init__(self, client: object) -> None:
        self.client = client

    def write(self, data: bytes) -> int:
        self.client.send_lines(data)  # type: ignore[attr-defined]
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.client.close()  # type: ignore[attr-defined]


def _daemon_sink(root: object) -> RecordSink | None:
    """Records shipped to the running daemon; None when it does not answer."""
    from orchestrate.client import ClientError, connect
    from orchestrate.recording.stream import StreamSink

    try:
        client = connect(root, timeout=5.0, name="flow")  # type: ignore[arg-type]
    except ClientError:
        return None
    sink = StreamSink(_ClientStream(client))  # type: ignore[arg-type]
    atexit.register(sink.close)
    return sink
