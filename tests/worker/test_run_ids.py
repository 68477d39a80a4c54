"""A forked worker makes the few run ids it needs, not a batch of 256 (~0.2 ms of its CPU)."""

from __future__ import annotations

import os
import uuid
import warnings

import pytest

from orchestrate.core import runs


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_process_draws_random_bytes_for_a_few_ids_then_for_more() -> None:
    runs.new_id()  # the parent holds a batch it has not handed out
    read, write = os.pipe()
    with warnings.catch_warnings():  # newer Pythons warn about forking a process with threads
        warnings.simplefilter("ignore", DeprecationWarning)
        child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        drawn = []
        urandom = os.urandom
        os.urandom = lambda n: drawn.append(n) or urandom(n)  # type: ignore[assignment, func-returns-value]
        ids = [runs.new_id() for _ in range(1000)]
        valid = len(set(ids)) == 1000 and all(uuid.UUID(i).version == 4 for i in ids)
        os.write(write, f"{valid} {' '.join(str(n // 16) for n in drawn)}".encode())
        os._exit(0)
    os.close(write)
    _, status = os.waitpid(child, 0)
    with os.fdopen(read) as pipe:
        report = pipe.read().split()
    assert status == 0 and report[0] == "True"
    batches = [int(n) for n in report[1:]]
    assert batches[:8] == [4, 8, 16, 32, 64, 128, 256, 256]  # ids per draw
