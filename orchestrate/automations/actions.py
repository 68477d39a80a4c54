"""Carrying out a firing's actions, through the small interface the daemon implements.

    for firing in engine.on_event(event):
        spec = engine.spec(firing.automation)
        record(triggered_event(firing, spec))
        for outcome in await execute(firing, spec, daemon_context):
            record(outcome)

Actions run one after the other, in the order written; one that fails does
not stop the next. Each ends in an outcome event: `orc.automation.action.executed`
with what it did, or `orc.automation.action.failed` with why. Targets that
an action leaves out come from the triggering event. A webhook may take
seconds to retry, so the daemon runs each `execute` as a task of its own and
keeps feeding the engine meanwhile. Nothing here blocks the loop or uses a
thread: webhooks go through `Webhooks` (httpx on the loop, a concurrency
cap), commands through asyncio subprocesses.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from orchestrate.automations.action_models import (
    ActionSpec,
    CallWebhook,
    CancelFlowRun,
    ChangeFlowRunState,
    EmitEvent,
    PauseAutomation,
    PauseDeployment,
    ResumeAutomation,
    ResumeDeployment,
    RunCommand,
    RunDeployment,
)
from orchestrate.automations.command import event_environment, run_command
from orchestrate.automations.engine import Firing, causal_chain
from orchestrate.automations.matching import RESOURCE_ID, id_suffix, related_names
from orchestrate.automations.models import AutomationSpec, EventTrigger
from orchestrate.automations.outcomes import (
    action_event,
    automation_resource,
    event_as_dict,
    firing_as_dict,
)
from orchestrate.automations.templating import as_text, render_value, scope_of
from orchestrate.automations.webhook import Webhooks, call_webhook
from orchestrate.core.causes import CAUSED_BY_ENV, chain_in_env, chain_related
from orchestrate.core.errors import ActionFailed
from orchestrate.core.records import EventRecord

log = logging.getLogger("orc.automations")


class ActionContext(Protocol):
    """What actions need from the daemon. Each method raises an exception to report failure."""

    async def run_deployment(
        self, name: str, parameters: dict[str, Any], caused_by: Sequence[str] = ()
    ) -> str:
        """Creates a run of deployment `name` due now; returns the new flow run's id. Its
        events name the automations `caused_by` (see `engine.causal_chain`)."""
        ...

    async def pause_deployment(self, name: str) -> None: ...

    async def resume_deployment(self, name: str) -> None: ...

    async def cancel_flow_run(self, flow_run_id: str) -> None: ...

    async def set_flow_run_state(self, flow_run_id: str, name: str, message: str | None) -> None:
        """Moves the run to the state named `name` (a name from `orchestrate.core.states.STATE_NAMES`)."""
        ...

    async def pause_automation(self, name: str) -> None: ...

    async def resume_automation(self, name: str) -> None: ...

    async def emit(self, event: EventRecord) -> None:
        """Records the event and feeds it to the automations engine, like any other."""
        ...


@dataclass(frozen=True, slots=True)
class _Run:
    """One firing being carried out: what every action handler may read."""

    firing: Firing
    spec: AutomationSpec
    ctx: ActionContext
    scope: Mapping[str, Any]
    environ: Mapping[str, str]
    clock: Callable[[], float]
    webhooks: Webhooks

    @property
    def chain(self) -> list[str]:
        """The automations what this firing does is caused by (see `engine.causal_chain`)."""
        return causal_chain(self.firing, self.spec.resource_id)

    def deployment(self, given: str | None, action: str) -> str:
        """The deployment named on the action, else the one the event (or for_each group) is about."""
        if given:
            return given
        name = self.scope["deployment"]["name"]
        if not name:
            raise ActionFailed(
                f"{action}: no deployment given and {self._event_words()} names none; "
                f'set deployment = "<name>" on the action'
            )
        return str(name)

    def flow_run(self, action: ActionSpec) -> str:
        """The flow run named on the action (templated), else the one the event is about."""
        given = render_value(action.compiled("flow_run"), self.scope)
        flow_run_id = given or (
            id_suffix(self.firing.event, "flow-run") if self.firing.event else None
        )
        if not flow_run_id:
            raise ActionFailed(
                f'{action.type}: {self._event_words()} is not about a flow run; set flow_run = "{{{{ event.payload.… }}}}"'
            )
        return str(flow_run_id)

    def _event_words(self) -> str:
        event = self.firing.event
        return (
            f"the triggering event ({event.event})"
            if event
            else "this firing (a proactive deadline, no event)"
        )


async def execute(
    firing: Firing,
    spec: AutomationSpec,
    ctx: ActionContext,
    *,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.time,
    webhooks: Webhooks | None = None,
) -> list[EventRecord]:
    """Runs the automation's actions for `firing`, in order; returns one outcome event per action.

    Args:
        firing: what the engine reported.
        spec: the automation (`engine.spec(firing.automation)`).
        ctx: the daemon's side of the actions.
        environ: where `{ from_env = … }` secrets and commands' environment come from; `os.environ` by default.
        clock: the time stamped on outcome events.
        webhooks: the sender shared by all firings (its cap is global); a fresh one if None.
    """
    if webhooks is None:
        async with Webhooks() as own:
            return await execute(firing, spec, ctx, environ=environ, clock=clock, webhooks=own)
    actions = carry_out(firing, spec, ctx, environ=environ, clock=clock, webhooks=webhooks)
    return [outcome async for outcome in actions]


async def carry_out(
    firing: Firing,
    spec: AutomationSpec,
    ctx: ActionContext,
    *,
    webhooks: Webhooks,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.time,
) -> AsyncIterator[EventRecord]:
    """`execute`, giving each action's outcome as soon as that action is done."""
    scope = scope_of(firing.event, spec.name, _group_deployment(firing, spec))
    environ = os.environ if environ is None else environ
    run = _Run(firing, spec, ctx, scope, environ, clock, webhooks)
    for index, action in enumerate(spec.actions):
        yield await _carry_out(run, index, action)


def cut_short(
    firing: Firing, spec: AutomationSpec, done: int, *, begun: bool, at: float
) -> list[EventRecord]:
    """The outcomes of the actions a stop of `orc up` left without one: action `done` was
    under way if `begun` (a command is killed with what it started), the rest never ran."""
    outcomes = []
    for index in range(done, len(spec.actions)):
        under_way = begun and index == done
        why = (
            "orc up stopped before this action finished; it was ended (a command with "
            "everything it started)"
            if under_way
            else "orc up stopped before this action started; it was not run"
        )
        action = spec.actions[index]
        outcomes.append(action_event(firing, spec, index, action, {"error": why}, ok=False, at=at))
    return outcomes


async def _carry_out(run: _Run, index: int, action: ActionSpec) -> EventRecord:
    try:
        details = await _HANDLERS[type(action)](action, run)
    except Exception as e:  # every failure becomes an outcome event; the daemon carries on
        message = str(e) if isinstance(e, ActionFailed) else f"{type(e).__name__}: {e}"
        log.warning(
            "automation %r: action %d (%s) failed: %s",
            run.spec.name,
            index + 1,
            action.type,
            message,
        )
        details = {"error": message, **(e.details if isinstance(e, ActionFailed) else {})}
        return action_event(run.firing, run.spec, index, action, details, ok=False, at=run.clock())
    return action_event(run.firing, run.spec, index, action, details, ok=True, at=run.clock())


def _group_deployment(firing: Firing, spec: AutomationSpec) -> str | None:
    """The deployment a firing grouped `for_each = ["deployment"]` is about, when no event says so."""
    trigger = spec.trigger
    if isinstance(trigger, EventTrigger) and "deployment" in trigger.for_each and firing.group:
        return firing.group[trigger.for_each.index("deployment")] or None
    return None


async def _run_deployment(action: RunDeployment, run: _Run) -> dict[str, Any]:
    name = run.deployment(action.deployment, action.type)
    parameters = render_value(action.compiled("parameters"), run.scope)
    flow_run_id = await run.ctx.run_deployment(name, parameters, run.chain)
    return {"deployment": name, "parameters": parameters, "flow_run_id": flow_run_id}


async def _pause_deployment(action: PauseDeployment, run: _Run) -> dict[str, Any]:
    name = run.deployment(action.deployment, action.type)
    await run.ctx.pause_deployment(name)
    return {"deployment": name}


async def _resume_deployment(action: ResumeDeployment, run: _Run) -> dict[str, Any]:
    name = run.deployment(action.deployment, action.type)
    await run.ctx.resume_deployment(name)
    return {"deployment": name}


async def _cancel_flow_run(action: CancelFlowRun, run: _Run) -> dict[str, Any]:
    flow_run_id = run.flow_run(action)
    await run.ctx.cancel_flow_run(flow_run_id)
    return {"flow_run_id": flow_run_id}


async def _change_flow_run_state(action: ChangeFlowRunState, run: _Run) -> dict[str, Any]:
    flow_run_id = run.flow_run(action)
    message = render_value(action.compiled("message"), run.scope)
    await run.ctx.set_flow_run_state(
        flow_run_id, action.state, None if message is None else str(message)
    )
    return {"flow_run_id": flow_run_id, "state": action.state, "message": message}


async def _pause_automation(action: PauseAutomation, run: _Run) -> dict[str, Any]:
    name = action.automation or run.spec.name
    await run.ctx.pause_automation(name)
    return {"automation": name}


async def _resume_automation(action: ResumeAutomation, run: _Run) -> dict[str, Any]:
    name = action.automation or run.spec.name
    await run.ctx.resume_automation(name)
    return {"automation": name}


async def _emit_event(action: EmitEvent, run: _Run) -> dict[str, Any]:
    rendered = {k: render_value(action.compiled(k), run.scope) for k in action.templated}
    resource = {k: as_text(v) for k, v in rendered["resource"].items()} or automation_resource(
        run.spec
    )
    if RESOURCE_ID not in resource:
        raise ActionFailed('emit-event: the resource needs an "orc.resource.id" label')
    # Naming this automation (and the ones whose events made it fire) as related keeps each
    # of them from reacting to what it emits (see `causal_chain`).
    related = [{k: as_text(v) for k, v in r.items()} for r in rendered["related"]]
    related += chain_related(run.chain)
    event = EventRecord(
        str(uuid.uuid4()),
        run.clock(),
        as_text(rendered["event"]),
        resource,
        rendered["payload"],
        related,
    )
    await run.ctx.emit(event)
    return {"event": event.event, "event_id": event.id}


async def _call_webhook(action: CallWebhook, run: _Run) -> dict[str, Any]:
    event = run.firing.event
    default_body = event_as_dict(event) if event else firing_as_dict(run.firing)
    return await call_webhook(action, run.scope, default_body, run.environ, run.webhooks)


async def _run_command(action: RunCommand, run: _Run) -> dict[str, Any]:
    event = run.firing.event
    extra = {
        "ORC_FLOW_RUN_ID": id_suffix(event, "flow-run") if event else None,
        "ORC_DEPLOYMENT": run.scope["deployment"]["name"],
        "ORC_FLOW": next(iter(related_names(event, "flow")), None) if event else None,
        CAUSED_BY_ENV: chain_in_env(run.chain),  # what `orc run` and `orc emit` send on
    }
    env = event_environment(
        event_as_dict(event) if event else None, run.spec.name, run.firing.id, extra
    )
    return await run_command(action, run.scope, env, run.environ)


_HANDLERS: dict[type[ActionSpec], Callable[[Any, _Run], Awaitable[dict[str, Any]]]] = {
    RunDeployment: _run_deployment,
    PauseDeployment: _pause_deployment,
    ResumeDeployment: _resume_deployment,
    CancelFlowRun: _cancel_flow_run,
    ChangeFlowRunState: _change_flow_run_state,
    PauseAutomation: _pause_automation,
    ResumeAutomation: _resume_automation,
    EmitEvent: _emit_event,
    CallWebhook: _call_webhook,
    RunCommand: _run_command,
}
