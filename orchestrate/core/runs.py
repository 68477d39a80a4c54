"""The one place a run changes state: validate the move, stamp the times, record it."""

from __future__ import annotations

import os
from collections.abc import Iterator

from orchestrate.core.records import FlowRunRecord, RecordPut, StateRecord, TaskRunRecord
from orchestrate.core.states import TERMINAL_STATES, State, StateType, validate_transition

_IDS_AT_ONCE = 256
#: The first batch's size; each next one is twice the last, up to `_IDS_AT_ONCE`.
_FIRST_IDS = 4
_ids: Iterator[str] = iter(())
_next_batch = _FIRST_IDS


def new_id() -> str:
    """A random UUID4 string, as `str(uuid.uuid4())` gives.

    Ids are cut from one `os.urandom` call per batch: a call per id costs a
    system call and a hand-over of the GIL on the hot path of every task run.
    Batches start small and double up to 256, since most processes need few: a
    worker of a one-task flow needs 2, and making 256 was ~0.16 ms of its CPU.
    """
    global _ids, _next_batch
    run_id = next(_ids, None)  # a list iterator's next is atomic: threads never share an id
    if run_id is None:
        _ids = iter(_random_ids(_next_batch))
        _next_batch = min(2 * _next_batch, _IDS_AT_ONCE)
        run_id = next(_ids)
    return run_id


def _random_ids(count: int) -> list[str]:
    h = os.urandom(16 * count).hex()
    return [
        # version 4, and the RFC 4122 variant (10xx) in the top bits of the 17th digit
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-4{h[i + 13 : i + 16]}-"
        f"{'89ab'[int(h[i + 16], 16) & 3]}{h[i + 17 : i + 20]}-{h[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]


def _forget_ids() -> None:
    global _ids, _next_batch
    _ids, _next_batch = iter(()), _FIRST_IDS


os.register_at_fork(after_in_child=_forget_ids)  # a forked child must not reuse the parent's ids


def transition(
    run: FlowRunRecord | TaskRunRecord, state: State, sink: RecordPut, initial: bool = False
) -> State:
    """Move `run` to `state` if the transition table allows it, and record both."""
    validate_transition(None if initial else run.state, state)
    state.run_id = run.id
    if state.type is StateType.RUNNING:
        if run.start_time is None:
            run.start_time = state.ts
    elif state.type in TERMINAL_STATES:
        run.end_time = state.ts
    run.state = state
    if type(run) is TaskRunRecord:
        sink.put(StateRecord(run.id, run.flow_run_id, True, state))
    else:
        sink.put(StateRecord(run.id, run.id, False, state))
    sink.put(run)
    return state
