"""A sink that masks the project's secrets in each record before the store sees it.

A worker masks its encoded lines and the daemon its pipes; a flow run called
from plain Python with no daemon writes records straight into the store, so
they are masked here, in the same encoded form (the one masking in
`core.secrets`). A record with no secret in it goes through untouched.
"""

from __future__ import annotations

import json

from orchestrate.core.record_codec import decode_records, encode_records
from orchestrate.core.records import Record, RecordSink
from orchestrate.core.secrets import Masker


class MaskedSink:
    """Hands records to `inner` with every secret value replaced by `***`."""

    def __init__(self, inner: RecordSink, masker: Masker) -> None:
        self.inner = inner
        self.masker = masker

    def put(self, record: Record) -> None:
        line = json.dumps(encode_records([record]), separators=(",", ":"), default=repr).encode()
        masked = self.masker.line(line)
        self.inner.put(record if masked == line else decode_records(json.loads(masked))[0])

    def flush(self, timeout: float | None = None) -> bool:
        return self.inner.flush(timeout)

    def close(self) -> None:
        self.inner.close()
