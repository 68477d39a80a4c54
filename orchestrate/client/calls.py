"""Every typed daemon call, written once: its method, its params and how to read its result.

`Client` and `AsyncClient` both run these, so the two stay one behaviour with
two ways of waiting.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from orchestrate.errors import ProtocolMismatch
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


def _given(**params: Any) -> dict[str, Any]:
    """The params that were given: None means "not asked", so it is not sent."""
    return {name: value for name, value in params.items() if value is not None}


def _many(model: type[M]) -> Callable[[Any], list[M]]:
    return lambda raw: [model.model_validate(item) for item in raw]


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
