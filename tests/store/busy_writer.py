"""A writer kept busy by log lines, as a long chatty flow keeps it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from orchestrate.core.records import LogRecord
from orchestrate.store import StoreWriter


@contextmanager
def logging_without_pause(writer: StoreWriter, per_round: int, pause: float) -> Iterator[None]:
    """Put `per_round` log lines of flow run "busy" every `pause` seconds until the block ends."""
    stop = threading.Event()

    def keep_logging() -> None:
        i = 0
        while not stop.is_set():
            for _ in range(per_round):
                writer.put(LogRecord("busy", None, 1_700_000_000 + i, 20, "orc", f"line {i}"))
                i += 1
            stop.wait(pause)

    producer = threading.Thread(target=keep_logging)
    producer.start()
    try:
        yield
    finally:
        stop.set()
        producer.join(10)
