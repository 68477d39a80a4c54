"""The short path of a plain sync task: `task_steps` with no generator, for most task calls.

A task with no retries, hooks, caching or results to keep (`Plainness`) needs
none of the steps a driver carries out: `run_plain` does what they would do
for it with no generator in between, and records the same states, edges and
result links (tests/engine/test_plain_calls.py compares them record for record).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrate.core.states import State, StateType
from orchestrate.engine.context import TaskRunContext
from orchestrate.engine.inputs import SelfDependencyError
from orchestrate.engine.outcomes import failure_state, state_from_return
from orchestrate.engine.task_results import link_result
from orchestrate.engine.task_rules import resolve_inputs, settle

if TYPE_CHECKING:
    from orchestrate.engine.task_engine import TaskRunJob

#: Read once: an enum member looked up on its class costs ~150 ns, on every task call.
_RUNNING, _COMPLETED = StateType.RUNNING, StateType.COMPLETED


def run_plain(job: TaskRunJob) -> State:
    """`task_steps` for a plain sync task (see `Plainness`), with no generator.

    What the steps would do with no retries, caching, results to keep, prints to
    capture, hooks or transaction: the same states, records and result links.
    """
    try:
        parameters = resolve_inputs(job)
    except SelfDependencyError as refused:
        return settle(job, failure_state(refused))
    if parameters is None:
        return job.run.state
    run = job.run
    job.context = TaskRunContext(job.task, run, parameters, False)
    run.run_count += 1
    if not job.record(State(_RUNNING, "Running")):  # its flow run gave up on it (`record_gate`)
        return run.state
    value, exc = job._call_sync(parameters)
    state = state_from_return(value) if exc is None else failure_state(exc)
    if state.type is _COMPLETED:
        link_result(job, state.data)
    return settle(job, state)
