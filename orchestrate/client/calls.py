"""Every typed daemon call, written once: its method, its params and how to read its result.

`Client` and `AsyncClient` both run these, so the two stay one behaviour with
two ways of waiting.
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from orchestrate.errors import ClientError, ProtocolMismatch
from orchestrate.protocol import (
    PROTOCOL_VERSION,
    AutomationInfo,
    DeploymentDetail,
    DeploymentInfo,
    EventInfo,
    FlowRunInfo,
    Hello,
    LogInfo,
    Method,
    RunDetail,
    Status,
)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One request: the method, its params, and the parser of its result."""

    method: str
    params: dict[str, Any]
    parse: Callable[[Any], T]

    def read(self, raw: Any, address: object) -> T:
        """The result parsed; one that does not fit the protocol is a `ClientError`, not a crash."""
        try:
            return self.parse(raw)
        except ValidationError as error:
            problem = error.errors()[0]
            where = ".".join(str(part) for part in problem["loc"]) or "result"
            raise ClientError(
                f"the orc daemon at {address} answered `{self.method}` with a result this orc "
                f"cannot read ({where}: {problem['msg']}); run the same orc version on both "
                "sides, and see the daemon's log"
            ) from error


def _given(**params: Any) -> dict[str, Any]:
    """The params that were given: None means "not asked", so it is not sent."""
    return {name: value for name, value in params.items() if value is not None}


def _many(model: type[M]) -> Callable[[Any], list[M]]:
    """A list result; an item that does not fit is kept, repaired and marked `malformed`."""
    return lambda raw: [_item(model, item) for item in raw]


def _item(model: type[M], raw: Any) -> M:
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        return _salvaged(model, raw if isinstance(raw, dict) else {}, error)


def _salvaged(model: type[M], raw: dict[str, Any], error: ValidationError) -> M:
    """`raw` with each unfit field emptied, and `malformed` saying what each held."""
    fixed = dict(raw)
    notes = []
    for problem in error.errors():
        name = str(problem["loc"][0]) if problem["loc"] else ""
        field = model.model_fields.get(name)
        if field is None:
            continue
        notes.append(f"{name}: {problem['msg']} ({_shown(raw.get(name))})")
        if field.is_required():
            fixed[name] = _blank(field.annotation)
        else:
            fixed.pop(name, None)
    return model.model_validate({**fixed, "malformed": "; ".join(notes) or str(error)})


def _shown(value: Any, limit: int = 200) -> str:
    text = json.dumps(value, default=repr)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _blank(annotation: Any) -> Any:
    """The emptiest value of a type: what stands in for a required field that did not fit."""
    origin = get_origin(annotation)
    if origin is Literal:
        return get_args(annotation)[0]
    if origin in (Union, types.UnionType):
        return None if type(None) in get_args(annotation) else _blank(get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {
            n: _blank(f.annotation) for n, f in annotation.model_fields.items() if f.is_required()
        }
    blanks: dict[Any, Any] = {str: "", int: 0, float: 0.0, bool: False, dict: {}, list: []}
    return blanks.get(origin or annotation)


def client_name() -> str:
    """How a client introduces itself when it gives no name: `orc/<version>`."""
    from orchestrate._version import __version__

    return f"orc/{__version__}"


def check_hello(hello: Hello, address: object) -> Hello:
    """The daemon's hello, if it speaks our protocol (it refuses first when it does not)."""
    if hello.protocol != PROTOCOL_VERSION:
        raise ProtocolMismatch(
            f"the orc daemon at {address} speaks protocol {hello.protocol} and this client "
            f"{PROTOCOL_VERSION}; use the same orc version on both sides"
        )
    return hello


def hello(client: str) -> Call[Hello]:
    return Call(
        Method.HELLO, {"protocol": PROTOCOL_VERSION, "client": client}, Hello.model_validate
    )


def status() -> Call[Status]:
    return Call(Method.STATUS, {}, Status.model_validate)


def deployments() -> Call[list[DeploymentInfo]]:
    return Call(Method.DEPLOYMENTS_LIST, {}, _many(DeploymentInfo))


def deployment(name: str) -> Call[DeploymentDetail]:
    return Call(Method.DEPLOYMENTS_GET, {"name": name}, DeploymentDetail.model_validate)


def pause_deployment(name: str) -> Call[DeploymentInfo]:
    return Call(Method.DEPLOYMENTS_PAUSE, {"name": name}, DeploymentInfo.model_validate)


def resume_deployment(name: str) -> Call[DeploymentInfo]:
    return Call(Method.DEPLOYMENTS_RESUME, {"name": name}, DeploymentInfo.model_validate)


def runs(
    limit: int = 50,
    state: str | None = None,
    deployment: str | None = None,
    since: float | None = None,
) -> Call[list[FlowRunInfo]]:
    params = _given(limit=limit, state=state, deployment=deployment, since=since)
    return Call(Method.RUNS_LIST, params, _many(FlowRunInfo))


def run(id: str) -> Call[RunDetail]:
    return Call(Method.RUNS_GET, {"id": id}, RunDetail.model_validate)


def logs(
    id: str, after: float | None = None, limit: int | None = None, level: int | None = None
) -> Call[list[LogInfo]]:
    return Call(
        Method.RUNS_LOGS, _given(id=id, after=after, limit=limit, level=level), _many(LogInfo)
    )


def create_run(deployment: str, parameters: dict[str, Any] | None = None) -> Call[FlowRunInfo]:
    params = _given(deployment=deployment, parameters=parameters)
    return Call(Method.RUNS_CREATE, params, FlowRunInfo.model_validate)


def cancel_run(id: str) -> Call[FlowRunInfo]:
    return Call(Method.RUNS_CANCEL, {"id": id}, FlowRunInfo.model_validate)


def retry_run(id: str) -> Call[FlowRunInfo]:
    return Call(Method.RUNS_RETRY, {"id": id}, FlowRunInfo.model_validate)


def events(
    name: str | None = None,
    resource: str | None = None,
    since: float | None = None,
    limit: int = 100,
) -> Call[list[EventInfo]]:
    params = _given(name=name, resource=resource, since=since, limit=limit)
    return Call(Method.EVENTS_LIST, params, _many(EventInfo))


def emit_event(
    event: str,
    resource: dict[str, str],
    payload: dict[str, Any] | None = None,
    related: list[dict[str, str]] | None = None,
) -> Call[EventInfo]:
    params = _given(event=event, resource=resource, payload=payload, related=related)
    return Call(Method.EVENTS_EMIT, params, EventInfo.model_validate)


def automations() -> Call[list[AutomationInfo]]:
    return Call(Method.AUTOMATIONS_LIST, {}, _many(AutomationInfo))


def automation(name: str) -> Call[AutomationInfo]:
    return Call(Method.AUTOMATIONS_GET, {"name": name}, AutomationInfo.model_validate)


def pause_automation(name: str) -> Call[AutomationInfo]:
    return Call(Method.AUTOMATIONS_PAUSE, {"name": name}, AutomationInfo.model_validate)


def resume_automation(name: str) -> Call[AutomationInfo]:
    return Call(Method.AUTOMATIONS_RESUME, {"name": name}, AutomationInfo.model_validate)


def subscribe(
    topics: Sequence[str], flow_run_id: str | None = None, event: str | None = None
) -> Call[int]:
    params = _given(topics=list(topics), flow_run_id=flow_run_id, event=event)
    return Call(Method.SUBSCRIBE, params, lambda raw: int(raw["subscription"]))


def unsubscribe(subscription: int) -> Call[None]:
    return Call(Method.UNSUBSCRIBE, {"subscription": subscription}, lambda _raw: None)
