"""`[[automations]]` in flows.toml: a trigger that watches events and the actions it starts.

    [[automations]]
    name = "cleanup-after-failure"
    description = "tidy up after a failed nightly load"
    trigger = { event = "orc.flow-run.Failed", match = { deployment = "nightly-etl" } }
    actions = [{ type = "run-deployment", deployment = "cleanup", parameters = { run = "{{ flow_run.id }}" } }]
    cooldown = "10m"          # fire at most once per 10 minutes (per for_each group)
    enabled = true

A trigger is one of four shapes, told apart by their keys:

- an **event trigger** (`event = …`), reactive or proactive, see `EventTrigger`;
- a **compound** trigger (`all = [...]`, `any = [...]` or
  `{ require = 2, triggers = [...] }`), see `CompoundTrigger`;
- a **sequence** (`sequence = [...]`), see `SequenceTrigger`.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from orchestrate.automations.action_models import Action
from orchestrate.automations.fields import Duration, Globs, NonEmpty, Spec
from orchestrate.automations.matching import RELATED_SHORTHANDS

_GROUP_SHORTHANDS = ("deployment", "flow")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]*")


class EventTrigger(Spec):
    """Fires on events (reactive, the default) or on their absence (proactive).

    Matching: `event` (Prefect's `expect`) is a name or glob, or a list of them
    (`"orc.flow-run.*"`); left out, any event.
    `match` filters on labels of the event's resource; the keys `deployment`,
    `flow` and `tags` (or `tag`) compare with the names of its related
    deployment, flow and tags instead. `match_related` filters on the labels of
    related resources (one table, or a list of tables that must all find a
    related resource). Values are globs or lists of globs; `!` negates.

    Reactive: fires when `threshold` matching events arrive `within` a window
    (any span, if no window is given), then starts counting afresh. With
    `for_each`, each group (each deployment, each value of a label) has its
    own count. With `after`, counting starts only once an `after` event has
    been seen for the group.

        { event = "orc.flow-run.Failed", match = { tags = "etl" } }
        { event = "orc.flow-run.Failed", threshold = 3, within = "1m", for_each = ["deployment"] }
        { event = "orc.flow-run.*", match = { "orc.state-type" = ["FAILED", "CRASHED"] } }
        { event = "shop.order.*", match_related = { "orc.resource.role" = "customer" } }

    Proactive (`posture = "proactive"`): fires when fewer than `threshold`
    matching events arrive within `within`. Without `after`, the window runs
    from when orc started watching (or the last matching event) and starts
    again after each firing, so it keeps reminding while the silence lasts;
    with `for_each`, a group is watched from its first event. With `after`,
    each `after` event opens one window for its group.

        # nightly-etl has not completed in 26 hours
        { posture = "proactive", event = "orc.flow-run.Completed", match = { deployment = "nightly-etl" }, within = "26h" }
        # a run that started but did not finish within an hour
        { posture = "proactive", after = "orc.flow-run.Running", event = ["orc.flow-run.Completed", "orc.flow-run.Failed"],
          within = "1h", for_each = ["orc.resource.id"] }

    `for_each` names `deployment`, `flow`, a resource label such as
    `orc.resource.id`, or `related:<role>:<label>` (Prefect's form).
    """

    posture: Literal["reactive", "proactive"] = "reactive"
    event: Globs = ("*",)
    after: Globs = ()
    match: dict[str, Globs] = Field(default_factory=dict)
    match_related: tuple[dict[str, Globs], ...] = ()
    threshold: int = Field(1, ge=1)
    within: Duration | None = None
    for_each: tuple[str, ...] = ()

    @field_validator("posture", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("match_related", "for_each", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, dict | str) else value

    @field_validator("match")
    @classmethod
    def _known_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if key not in RELATED_SHORTHANDS and "." not in key:
                raise ValueError(
                    f"unknown match key {key!r}: use deployment, flow, tags, or a resource label "
                    f'such as "orc.resource.id" or "orc.state-name"'
                )
        return value

    @field_validator("for_each")
    @classmethod
    def _known_groups(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for key in value:
            related = key.startswith("related:") and key.count(":") == 2
            if key not in _GROUP_SHORTHANDS and "." not in key and not related:
                raise ValueError(
                    f"unknown for_each key {key!r}: use deployment, flow, a resource label such as "
                    f'"orc.resource.id", or "related:<role>:<label>"'
                )
        return value

    @model_validator(mode="after")
    def _proactive_needs_window(self) -> EventTrigger:
        if self.posture == "proactive" and not self.within:
            raise ValueError(
                'a proactive trigger needs `within`, the time to wait, e.g. within = "26h"'
            )
        return self


class CompoundTrigger(Spec):
    """Fires when enough of several triggers have fired within `within` (any span, if none).

        { all = [{ event = "shop.order.paid" }, { event = "shop.order.packed" }], within = "1h" }
        { any = [{ event = "orc.flow-run.Crashed" }, { event = "orc.worker.exited" }] }
        { require = 2, triggers = [{ event = "a.done" }, { event = "b.done" }, { event = "c.done" }], within = "30m" }

    The triggers inside may be of any shape; their `for_each` groups are not
    kept apart at this level.
    """

    all_: Annotated[tuple[Trigger, ...], NonEmpty] | None = Field(None, alias="all")
    any_: Annotated[tuple[Trigger, ...], NonEmpty] | None = Field(None, alias="any")
    triggers: Annotated[tuple[Trigger, ...], NonEmpty] | None = None
    require: int | None = Field(None, ge=1)
    within: Duration | None = None

    @model_validator(mode="after")
    def _one_list(self) -> CompoundTrigger:
        given = [self.all_, self.any_, self.triggers]
        if sum(g is not None for g in given) != 1:
            raise ValueError(
                "give exactly one of `all = [...]`, `any = [...]` or `triggers = [...]` (with `require = N`)"
            )
        if self.triggers is not None and self.require is None:
            raise ValueError(
                "`triggers = [...]` needs `require = N`, the number of them that must fire"
            )
        if self.triggers is None and self.require is not None:
            raise ValueError(
                "`require` goes with `triggers = [...]`; `all` and `any` already say how many"
            )
        if (
            self.triggers is not None
            and self.require is not None
            and self.require > len(self.triggers)
        ):
            raise ValueError(
                f"require = {self.require} but there are only {len(self.triggers)} triggers"
            )
        return self

    @property
    def children(self) -> tuple[Trigger, ...]:
        return self.all_ or self.any_ or self.triggers or ()

    @property
    def required(self) -> int:
        if self.all_ is not None:
            return len(self.all_)
        return 1 if self.any_ is not None else self.require or 1


class SequenceTrigger(Spec):
    """Fires when its triggers fire in the order given, all within `within` (any span, if none).

    { sequence = [{ event = "orc.deployment.paused" }, { event = "orc.flow-run.Failed" }], within = "10m" }
    """

    sequence: Annotated[tuple[Trigger, ...], NonEmpty]
    within: Duration | None = None


def _trigger_kind(value: Any) -> str | None:
    """The union tag of a trigger table, told by its keys."""
    if isinstance(value, dict):
        if "sequence" in value:
            return "<sequence>"
        if {"all", "any", "triggers", "require"} & value.keys():
            return "<compound>"
        return "<event>"
    kinds: dict[type, str] = {
        EventTrigger: "<event>",
        CompoundTrigger: "<compound>",
        SequenceTrigger: "<sequence>",
    }
    return kinds.get(type(value))


Trigger = Annotated[
    Annotated[EventTrigger, Tag("<event>")]
    | Annotated[CompoundTrigger, Tag("<compound>")]
    | Annotated[SequenceTrigger, Tag("<sequence>")],
    Discriminator(
        _trigger_kind,
        custom_error_type="trigger_shape",
        custom_error_message='a trigger is a table such as { event = "orc.flow-run.Failed" }, '
        "{ all = [...] }, { any = [...] }, { require = 2, triggers = [...] } or { sequence = [...] }",
    ),
]


CompoundTrigger.model_rebuild()
SequenceTrigger.model_rebuild()


class AutomationSpec(Spec):
    """One `[[automations]]` entry, validated."""

    name: str = Field(max_length=200)
    enabled: bool = True
    description: str | None = None
    trigger: Trigger
    actions: Annotated[tuple[Action, ...], NonEmpty]
    cooldown: Duration | None = None

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a usable automation name: use letters, digits and - _ . : / "
                "(it is typed on the command line and becomes the resource id orc.automation.<name>)"
            )
        return value

    @cached_property
    def resource_id(self) -> str:
        """The resource its own events are about: `orc.automation.<name>`."""
        return f"orc.automation.{self.name}"
