"""A flow run that stops in its body until someone resumes it (Prefect's pause and suspend).

The engine records the pause: an `orc.flow-run.pause-requested` event with what
the daemon needs to hold it (key, timeout, the input's JSON schema, whether a
resume reruns the flow), then the Paused or Suspended state. Both go through
the run's sink, and so through the worker's journal: a daemon killed meanwhile
finds them again. Hearing the resume is the process's business: a worker
installs a `ResumeGate` on the daemon's channel. Without one nobody could
resume the run, so a pause is refused with the reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

from orchestrate.core.errors import FlowPauseTimeout
from orchestrate.core.records import EventRecord
from orchestrate.core.runs import new_id, transition
from orchestrate.core.states import State, StateType
from orchestrate.engine.context import FlowRunContext, flow_run_context, task_run_context
from orchestrate.engine.logs import flow_run_logger
from orchestrate.engine.outcomes import RunAborted

#: The event a pause leaves, with its `PauseRequest` as payload.
PAUSE_EVENT = "orc.flow-run.pause-requested"
#: The event a resume leaves (the daemon's), with the key and the run input.
RESUME_EVENT = "orc.flow-run.resume-requested"


@dataclass(frozen=True, slots=True)
class PauseRequest:
    """What a pause asks of whoever holds it.

    Args:
        key: tells this pause from the run's others, so a rerun after a resume passes it.
        timeout: seconds until the run fails unresumed; None waits for ever (suspend's default).
        reschedule: a suspend: the process ends and a resume reruns the flow from the top.
        input_schema: the JSON schema a resume's input must fit, if the flow waits for input.
    """

    key: str
    timeout: float | None
    reschedule: bool
    input_schema: dict[str, Any] | None

    def payload(self, now: float) -> dict[str, Any]:
        expires = None if self.timeout is None else now + self.timeout
        return {
            "key": self.key,
            "timeout_seconds": self.timeout,
            "expires": expires,
            "reschedule": self.reschedule,
            "input_schema": self.input_schema,
        }


class ResumeGate(Protocol):
    """How the process hears that its run was resumed (a worker's channel to the daemon)."""

    def resumed_before(self, run_id: str, key: str) -> tuple[bool, dict[str, Any] | None]:
        """Whether pause `key` was resumed in an earlier process of the run, and its notice."""
        ...

    def wait(self, run_id: str, key: str, timeout: float | None) -> dict[str, Any] | None:
        """Block until pause `key` is resumed: its notice (`run_input`), or None at the timeout."""
        ...


class Suspend(BaseException):
    """Ends the flow body of a paused run (a suspend, or a pause `orc up` stopped under): the
    run stays in its PAUSED state and its process ends; a resume runs it again."""

    def __init__(self, state: State) -> None:
        super().__init__(state.message)
        self.state = state


_gate: ResumeGate | None = None
#: Pauses observed per flow run, for each pause's default key (Prefect counts them too).
_observed: dict[str, int] = {}
#: Models made for a plain type: their input is the `value` field.
_automatic: set[Any] = set()


def install_resume_gate(gate: ResumeGate | None) -> None:
    """Let pauses in this process wait on `gate` (a worker installs its channel's)."""
    global _gate
    _gate = gate


def pause(wait_for_input: Any, timeout: float | None, key: str | None, reschedule: bool) -> Any:
    """Pause (or suspend) the flow run in progress; the validated input once resumed."""
    verb = "suspended" if reschedule else "paused"
    context = flow_run_context.get()
    if context is None:
        raise RuntimeError(f"Flow runs can only be {verb} from within a flow run.")
    if reschedule and task_run_context.get() is not None:
        raise RuntimeError("Cannot suspend task runs.")
    gate = _gate_for(context, verb)
    model = input_model(wait_for_input)
    run_id = context.run.id
    _observed[run_id] = _observed.get(run_id, 0) + 1
    key = key or str(_observed[run_id])
    logger = flow_run_logger(run_id, context.run.name)
    done, earlier = gate.resumed_before(run_id, key)
    if done:  # this pause fired in an earlier process and was resumed: go on
        return load_input(model, (earlier or {}).get("run_input"))
    schema = None if model is None else model.model_json_schema()
    request = PauseRequest(key, timeout, reschedule, schema)
    state = _record_pause(context, request, _description(model))
    if reschedule:
        logger.info(
            "Suspending flow run, execution will be rescheduled when this flow run is resumed."
        )
        raise Suspend(state)
    logger.info("Pausing flow, execution will continue when this flow run is resumed.")
    run_input = _wait(gate, context, key, timeout)
    if run_input is None:
        raise FlowPauseTimeout("Flow run was paused and never resumed.")
    transition(context.run, State(StateType.RUNNING, "Running"), context.sink)
    logger.info("Resuming flow run execution!")
    return load_input(model, run_input.get("run_input"))


def _wait(
    gate: ResumeGate, context: FlowRunContext, key: str, timeout: float | None
) -> dict[str, Any] | None:
    """Wait for the resume. `orc up` stopping meanwhile (a stop as Crashed) leaves the run
    Paused, as a suspend would: its worker ends, and a resume runs the flow again."""
    try:
        return gate.wait(context.run.id, key, timeout)
    except RunAborted as stop:
        if stop.state_name != "Crashed":
            raise  # a cancel or a timeout ends the run as it says
        flow_run_logger(context.run.id, context.run.name).warning(
            "orc up stopped while this flow run was paused; a resume runs it again from the top."
        )
        raise Suspend(context.run.state) from None


def _gate_for(context: FlowRunContext, verb: str) -> ResumeGate:
    if _gate is None:
        raise RuntimeError(
            f"This flow run cannot be {verb}: nothing could resume it. Run the flow "
            "through a deployment of `orc up` (`orc run DEPLOYMENT`) to pause it, and resume "
            "it with `orc runs resume RUN_ID`."
        )
    if context.parent is not None:
        raise RuntimeError(
            f"A subflow cannot be {verb} under orc: pause the flow run the deployment started."
        )
    return _gate


def _description(model: Any) -> str | None:
    """What a `RunInput` says it asks for (`with_initial_data(description=...)`), if it does."""
    text = getattr(model, "_description", None)
    return text if isinstance(text, str) else None


def _record_pause(context: FlowRunContext, request: PauseRequest, asks: str | None) -> State:
    now = time.time()
    run = context.run
    resource = {"orc.resource.id": f"orc.flow-run.{run.id}", "orc.resource.name": run.name}
    payload = request.payload(now)
    context.sink.put(EventRecord(new_id(), now, PAUSE_EVENT, resource, payload))
    name = "Suspended" if request.reschedule else "Paused"
    limit = "" if request.timeout is None else f" within {request.timeout:g}s"
    asked = f": {asks}" if asks else ""
    message = (
        f"{name} (key {request.key!r}){asked}; resume it{limit} with `orc runs resume {run.id}`."
    )
    return transition(run, State(StateType.PAUSED, name, message=message), context.sink)


def input_model(wait_for_input: Any) -> Any:
    """The pydantic model a resume's input is validated with (Prefect's
    `run_input_subclass_from_type`): a model as it is, any other type as `value`."""
    if wait_for_input is None:
        return None
    from pydantic import BaseModel, create_model

    if isinstance(wait_for_input, type) and issubclass(wait_for_input, BaseModel):
        return wait_for_input
    name = getattr(wait_for_input, "__name__", "Input")
    model = create_model(f"Automatic{name.title()}Input", value=(wait_for_input, ...))
    _automatic.add(model)
    return model


def load_input(model: Any, run_input: dict[str, Any] | None) -> Any:
    """The run input as the flow asked for it; None when it asked for none."""
    if model is None:
        return None
    from pydantic import ValidationError

    try:
        loaded = model.model_validate(run_input or {})
    except ValidationError as exc:
        raise ValueError(
            f"The input the flow run was resumed with does not fit {model.__name__}: {exc}"
        ) from exc
    return loaded.value if model in _automatic else loaded


__all__ = [
    "PAUSE_EVENT",
    "RESUME_EVENT",
    "PauseRequest",
    "ResumeGate",
    "Suspend",
    "install_resume_gate",
    "load_input",
    "pause",
]
