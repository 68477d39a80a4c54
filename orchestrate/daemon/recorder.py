"""Where every record the daemon hears goes: the store, the run book, subscribers and events.

A worker's batch and the daemon's own transitions take this one path, so the
socket, the store and the run book never disagree; state records become
`orc.flow-run.*` and `orc.task-run.*` events here, and the events a run emits
name the automations that made it. It is the hot path of a
busy daemon: one pass per batch, dispatching on the exact record type.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from orchestrate.core.causes import chain_related
from orchestrate.core.records import (
    EdgeRecord,
    EventRecord,
    FlowRunRecord,
    LogRecord,
    Record,
    StateRecord,
    TaskRunRecord,
)
from orchestrate.core.states import StateType
from orchestrate.daemon import retries, state_events, views
from orchestrate.store.batch import RunDeletion

if TYPE_CHECKING:
    from orchestrate.daemon.service import Daemon

_SNAPSHOTS = (FlowRunRecord, TaskRunRecord)
#: The end states of an attempt the daemon may retry: their event waits for its decision.
_RETRIED = (StateType.FAILED, StateType.CRASHED)
_RESOURCE_ID = "orc.resource.id"
_FLOW_RUN = "orc.flow-run."

#: The longest log message stored (characters); a longer one keeps its start and a marker.
#: A run that prints one 50 MB line must not make the store, the run book and every
#: subscriber hold 50 MB, nor leave the daemon's memory that much larger for good.
MAX_LOG_MESSAGE = 64 * 1024


def capped(record: LogRecord) -> LogRecord:
    """`record` with its message cut to `MAX_LOG_MESSAGE` characters and a marker naming the cut."""
    size = len(record.message)
    if size <= MAX_LOG_MESSAGE:
        return record
    marker = f" … [line cut by orc: {size:,} characters, the first {MAX_LOG_MESSAGE:,} kept]"
    return replace(record, message=record.message[:MAX_LOG_MESSAGE] + marker)


def record_batch(daemon: Daemon, records: list[Record]) -> None:
    """Store, remember and publish a batch of records (a worker's, or the daemon's own).

    Run snapshots go to the writer as copies: the daemon changes its runs in
    place, and a batch still waiting to be written must not store a state
    whose history row is only in the next batch.
    """
    states: list[StateRecord] = []
    store = daemon.writer.put if daemon.held is None else daemon.held.append
    begun = False  # whether the book took the flow runs the batch begins (see `_begun_in`)
    for record in records:
        kind = type(record)
        if kind is LogRecord and len(record.message) > MAX_LOG_MESSAGE:  # type: ignore[union-attr]
            record = capped(record)  # type: ignore[arg-type]
        elif kind is EventRecord and daemon.caused_by:  # a run's: it names what made the run
            begun = begun or _begun_for(daemon, record, records)  # type: ignore[arg-type]
            record = _chained(daemon, record)  # type: ignore[arg-type]
        store(replace(record) if kind in _SNAPSHOTS else record)
        if getattr(record, "flow_run_id", None) == "":
            continue  # a task run outside any flow: stored, with no flow run to follow or tell of
        if kind is LogRecord:
            daemon.publish("log", views.log_info(record), flow_run_id=record.flow_run_id)  # type: ignore[arg-type, union-attr]
        elif kind is TaskRunRecord:
            states += daemon.book.put_task_run(record)  # type: ignore[arg-type]
            info = views.task_run_info(record)  # type: ignore[arg-type]
            daemon.publish("task_run", info, flow_run_id=record.flow_run_id)  # type: ignore[union-attr]
        elif kind is StateRecord:
            states.append(record)  # type: ignore[arg-type]
        elif kind is FlowRunRecord:
            states = _flow_run_after(daemon, record, states, records)  # type: ignore[arg-type]
        elif kind is EdgeRecord:
            daemon.publish("edge", views.edge_info(record), flow_run_id=record.flow_run_id)  # type: ignore[arg-type, union-attr]
        elif kind is EventRecord:
            _published_event(daemon, record)  # type: ignore[arg-type]
        elif kind is RunDeletion:  # told to subscribers once the write has removed them
            daemon.removals.withdrawn(record.flow_run_ids)  # type: ignore[union-attr]
    _state_events(daemon, states)


def emit(daemon: Daemon, event: EventRecord) -> None:
    """Store an event the daemon raised and tell subscribers and listeners."""
    daemon.writer.put(event)
    _published_event(daemon, event)


def emit_many(daemon: Daemon, events: list[EventRecord]) -> None:
    """Store a batch of events in its order, then tell subscribers and listeners of each."""
    put = daemon.writer.put
    for event in events:
        put(event)
    for event in events:
        _published_event(daemon, event)


def _flow_run_after(
    daemon: Daemon, run: FlowRunRecord, states: list[StateRecord], batch: list[Record]
) -> list[StateRecord]:
    """Take `run` after the batch's `states` so far; the states still to turn into events.

    A final snapshot takes the run's task runs out of the book, so the states before it
    (its task runs' last ones, in the batch that ends the run) become events first.
    """
    if states and run.state.is_final():
        if daemon.known_run(run.id) is None:
            _begun_in(daemon, batch)
        _state_events(daemon, states)
        states = []
    _flow_run(daemon, run)
    return states


def _begun_in(daemon: Daemon, batch: list[Record]) -> None:
    """The book takes the flow runs the batch begins, and their task runs, before their states
    become events: a subflow run begun and ended in one batch has one snapshot, its last, after
    its states and its task runs' (a sink sends a run once, at its last place)."""
    book, begun = daemon.book, set[str]()
    for record in batch:
        if type(record) is FlowRunRecord and daemon.known_run(record.id) is None:
            book.flow_runs[record.id] = record  # its own snapshot, later in the batch, ends it
            begun.add(record.id)
    for record in batch:
        if type(record) is TaskRunRecord and record.flow_run_id in begun:
            book.put_task_run(record)


def _begun_for(daemon: Daemon, event: EventRecord, batch: list[Record]) -> bool:
    """Whether the book took the flow runs the batch begins: it does for an event naming a
    flow run it does not know yet, such as a subflow run whose snapshot comes later."""
    if all(daemon.known_run(run_id) is not None for run_id in _flow_runs_named(event)):
        return False
    _begun_in(daemon, batch)
    return True


def _chained(daemon: Daemon, event: EventRecord) -> EventRecord:
    """An event from a run, naming the automations that made the flow runs it names: what a
    run an automation made emits (`emit_event`), it caused. The daemon looks the chain up
    from the runs; nothing the run says of automations is needed (see `chain_of`)."""
    chain = set[str]()
    for run_id in _flow_runs_named(event):
        chain.update(chain_of(daemon, run_id))
    chain.difference_update(labels.get(_RESOURCE_ID) for labels in event.related)
    if not chain:
        return event
    return replace(event, related=event.related + chain_related(sorted(chain)))


def _flow_runs_named(event: EventRecord) -> Iterator[str]:
    """The ids of the flow runs an event names: as its resource, or as related resources."""
    for labels in (event.resource, *event.related):
        resource_id = labels.get(_RESOURCE_ID, "")
        if resource_id.startswith(_FLOW_RUN):
            yield resource_id[len(_FLOW_RUN) :]


def _flow_run(daemon: Daemon, run: FlowRunRecord) -> None:
    known = daemon.book.get(run.id)
    if known is not None and known is not run:
        run.deployment = run.deployment or known.deployment
        run.expected_start_time = run.expected_start_time or known.expected_start_time
    daemon.book.put_flow_run(run)
    if run.state.is_final():
        daemon.remember(run)
    info = views.flow_run_info(run, daemon.book.task_counts(run.id))
    daemon.publish("flow_run", info, flow_run_id=run.id)


def _state_events(daemon: Daemon, states: list[StateRecord]) -> None:
    for state in states:
        _state_event(daemon, state)


def _state_event(daemon: Daemon, record: StateRecord) -> None:
    if record.is_task:
        task_run = daemon.book.task_run(record.flow_run_id, record.run_id)
        if task_run is None:
            if record.flow_run_id in daemon.book.flow_runs:
                daemon.book.park(record)
            return
        event = state_events.task_run_event(
            task_run,
            record.state,
            None,
            daemon.book.get(record.flow_run_id),
            chain_of(daemon, record.flow_run_id),
        )
    else:
        flow_run = daemon.known_run(record.run_id)
        if flow_run is None:
            return
        event = state_events.flow_run_event(
            flow_run, record.state, None, chain_of(daemon, flow_run.id)
        )
        if record.state.type in _RETRIED and retries.may_retry(daemon, flow_run):
            daemon.held_failures[flow_run.id] = event  # told once the daemon decides
            return
    emit(daemon, event)


def chain_of(daemon: Daemon, flow_run_id: str) -> tuple[str, ...]:
    """The automations that made the run, or the run it is a subflow of (however deep):
    its events name them, so none of them reacts to it (`automations.engine.causal_chain`)."""
    caused_by = daemon.caused_by
    if not caused_by:
        return ()  # no run an automation made is live: one check on the hot path
    seen: set[str] = set()  # a worker's parent links are not trusted to end
    while flow_run_id not in caused_by:
        run = daemon.known_run(flow_run_id)
        if run is None or run.parent_flow_run_id is None or flow_run_id in seen:
            return ()
        seen.add(flow_run_id)
        flow_run_id = run.parent_flow_run_id
    return caused_by[flow_run_id]


def _published_event(daemon: Daemon, event: EventRecord) -> None:
    daemon.publish("event", views.event_info(event), event=event.event)
    for listener in daemon.event_listeners:
        listener(event)
