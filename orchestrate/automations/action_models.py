"""What an automation does when its trigger fires: one spec per action `type`.

Targets left out are taken from the triggering event: the flow run it is
about (`orc.flow-run.<id>`), its related deployment, this automation.
String settings marked *templated* may hold `{{ … }}` placeholders (see
`templating`); they are parsed when the automation is loaded.

    actions = [
      { type = "run-deployment", deployment = "cleanup", parameters = { run = "{{ flow_run.id }}" } },
      { type = "pause-deployment" },                       # the event's deployment
      { type = "change-flow-run-state", state = "Cancelled", message = "stuck for 2h" },
      { type = "emit-event", event = "shop.etl.alert", payload = { run = "{{ event.resource.id }}" } },
      { type = "call-webhook", url = { from_env = "SLACK_URL" }, payload = { text = "{{ event.event }}" } },
      { type = "run-command", command = ["./notify.sh", "{{ event.id }}"], timeout = "30s" },
    ]
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Discriminator, Field, PrivateAttr, Tag, field_validator, model_validator
from pydantic_core import PydanticCustomError

from orchestrate.automations.fields import Duration, FromEnv, Spec, compile_templates
from orchestrate.automations.interpreters import argv_problems, env_problems
from orchestrate.core.states import STATE_NAMES


class ActionSpec(Spec):
    """Base of the action specs: parses the templated fields named in `templated` once."""

    type: str
    templated: ClassVar[tuple[str, ...]] = ()
    _compiled: dict[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _parse_templates(self) -> ActionSpec:
        self._compiled = compile_templates(self, self.templated)
        return self

    def compiled(self, name: str) -> Any:
        """The parsed form of templated field `name`, ready for `templating.render_value`."""
        return self._compiled[name]


class RunDeployment(ActionSpec):
    """Start a run of `deployment` (default: the triggering event's deployment); `parameters` templated."""

    type: Literal["run-deployment"]
    deployment: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    templated: ClassVar[tuple[str, ...]] = ("parameters",)


class PauseDeployment(ActionSpec):
    """Pause the schedules of `deployment` (default: the triggering event's deployment)."""

    type: Literal["pause-deployment"]
    deployment: str | None = None


class ResumeDeployment(ActionSpec):
    """Resume the schedules of `deployment` (default: the triggering event's deployment)."""

    type: Literal["resume-deployment"]
    deployment: str | None = None


class CancelFlowRun(ActionSpec):
    """Cancel `flow_run` (templated; default: the flow run the event is about)."""

    type: Literal["cancel-flow-run"]
    flow_run: str | None = None
    templated: ClassVar[tuple[str, ...]] = ("flow_run",)


class ChangeFlowRunState(ActionSpec):
    """Move `flow_run` (default: the event's) to the state named `state`, with `message` (templated)."""

    type: Literal["change-flow-run-state"]
    state: str
    message: str | None = None
    flow_run: str | None = None
    templated: ClassVar[tuple[str, ...]] = ("message", "flow_run")

    @field_validator("state")
    @classmethod
    def _known_state(cls, value: str) -> str:
        if value not in STATE_NAMES:
            raise ValueError(f"unknown state {value!r}; use one of {', '.join(STATE_NAMES)}")
        return value


class PauseAutomation(ActionSpec):
    """Pause `automation` (default: this one), e.g. to stop alerting after the first page."""

    type: Literal["pause-automation"]
    automation: str | None = None


class ResumeAutomation(ActionSpec):
    """Resume `automation` (default: this one)."""

    type: Literal["resume-automation"]
    automation: str | None = None


class EmitEvent(ActionSpec):
    """Emit an event (all fields templated); its resource defaults to this automation."""

    type: Literal["emit-event"]
    event: str = Field(min_length=1)
    resource: dict[str, str] = Field(default_factory=dict)
    payload: dict[str, Any] = Field(default_factory=dict)
    related: list[dict[str, str]] = Field(default_factory=list)
    templated: ClassVar[tuple[str, ...]] = ("event", "resource", "payload", "related")


#: A header name: an HTTP token (RFC 9110, 5.6.2).
HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


class CallWebhook(ActionSpec):
    """Send an HTTP request to `url`, by default a POST of the triggering event as JSON.

    `payload` (templated) replaces the event JSON; header values are
    templated strings or `{ from_env = "NAME" }` secrets. Connection errors,
    timeouts and 5xx/429 answers are retried `retries` times, waiting
    `retry_backoff`, then twice that, and so on.
    """

    type: Literal["call-webhook"]
    url: str | FromEnv
    method: Literal["POST", "PUT", "PATCH", "GET", "DELETE"] = "POST"
    payload: Any = None
    headers: dict[str, str | FromEnv] = Field(default_factory=dict)
    timeout: Duration = timedelta(seconds=10)
    retries: int = Field(3, ge=0, le=20)
    retry_backoff: Duration = timedelta(seconds=1)
    templated: ClassVar[tuple[str, ...]] = ("payload", "headers")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | FromEnv) -> str | FromEnv:
        if isinstance(value, str) and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http:// or https:// URL")
        return value

    @field_validator("headers")
    @classmethod
    def _header_names(cls, value: dict[str, str | FromEnv]) -> dict[str, str | FromEnv]:
        for name in value:
            if not HEADER_NAME.fullmatch(name):
                raise ValueError(
                    f"{name!r} is not a valid header name (letters, digits and -, no blanks)"
                )
        return value


class RunCommand(ActionSpec):
    """Run a program: `command` is an argv list (templated items), never a shell string.

    Event fields reach it as environment variables: ORC_EVENT (the name),
    ORC_EVENT_ID, ORC_RESOURCE_ID, ORC_EVENT_JSON (the whole event),
    ORC_AUTOMATION, plus `env` (templated values or `{ from_env = "NAME" }`).
    It is killed after `timeout`. A template where a program reads code (the
    script of `sh -c`, `python -c`, …; see `interpreters`) is refused.
    """

    type: Literal["run-command"]
    command: tuple[str, ...] = Field(min_length=1)
    timeout: Duration = timedelta(seconds=60)
    env: dict[str, str | FromEnv] = Field(default_factory=dict)
    cwd: str | None = None
    templated: ClassVar[tuple[str, ...]] = ("command", "env")

    @field_validator("command", mode="before")
    @classmethod
    def _argv_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError(
                f'command must be a list of arguments such as ["./notify.sh", "{{{{ event.id }}}}"], not the string {value!r}: '
                "orc never runs a shell, so event text can never become shell code"
            )
        return value

    @model_validator(mode="after")
    def _no_templated_code(self) -> RunCommand:
        """Event text may be an argument, never the program or a script an interpreter runs."""
        for index, reason in argv_problems(self.command):
            raise _template_refused(("command", index), reason)
        for name, reason in env_problems(self.env):
            raise _template_refused(("env", name), reason)
        return self


def _template_refused(path: tuple[str | int, ...], reason: str) -> PydanticCustomError:
    """An error `validation.problems_of` reports at `path` inside the action."""
    where = ".".join(str(p) for p in path)
    return PydanticCustomError(
        "template", "{where}: {reason}", {"where": where, "path": path, "reason": reason}
    )


ACTION_TYPES: dict[str, type[ActionSpec]] = {
    "run-deployment": RunDeployment,
    "pause-deployment": PauseDeployment,
    "resume-deployment": ResumeDeployment,
    "cancel-flow-run": CancelFlowRun,
    "change-flow-run-state": ChangeFlowRunState,
    "pause-automation": PauseAutomation,
    "resume-automation": ResumeAutomation,
    "emit-event": EmitEvent,
    "call-webhook": CallWebhook,
    "run-command": RunCommand,
}


def _action_type(value: Any) -> str | None:
    """The union tag of an action table: its `type`, marked like `<run-deployment>`."""
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return f"<{kind}>" if kind in ACTION_TYPES else None


Action = Annotated[
    Annotated[RunDeployment, Tag("<run-deployment>")]
    | Annotated[PauseDeployment, Tag("<pause-deployment>")]
    | Annotated[ResumeDeployment, Tag("<resume-deployment>")]
    | Annotated[CancelFlowRun, Tag("<cancel-flow-run>")]
    | Annotated[ChangeFlowRunState, Tag("<change-flow-run-state>")]
    | Annotated[PauseAutomation, Tag("<pause-automation>")]
    | Annotated[ResumeAutomation, Tag("<resume-automation>")]
    | Annotated[EmitEvent, Tag("<emit-event>")]
    | Annotated[CallWebhook, Tag("<call-webhook>")]
    | Annotated[RunCommand, Tag("<run-command>")],
    Discriminator(
        _action_type,
        custom_error_type="action_type",
        custom_error_message=f"an action needs a `type`, one of: {', '.join(ACTION_TYPES)}",
    ),
]
