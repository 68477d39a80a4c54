"""Prefect's `prefect.input`: `RunInput`, the model a paused flow run waits for.

    from orchestrate.input import RunInput

    class Approval(RunInput):
        approved: bool

    answer = pause_flow_run(wait_for_input=Approval.with_initial_data(
        description="Pay out?", approved=False))

Any pydantic model works as `wait_for_input`; a `RunInput` forbids unknown
fields and can carry a description, which the paused run's state shows.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, create_model

R = TypeVar("R", bound="RunInput")


class RunInput(BaseModel):
    """The input a paused flow run waits for (Prefect's `RunInput`)."""

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="forbid")
    #: Shown with the paused run, to say what is asked (set by `with_initial_data`).
    _description: ClassVar[str | None] = None

    @classmethod
    def with_initial_data(cls: type[R], description: str | None = None, **kwargs: Any) -> type[R]:
        """A subclass with `kwargs` as the fields' defaults (and a description), as Prefect's.

        Args:
            description: what the person resuming the run is asked.
            kwargs: a default for each field; a name the model lacks becomes a field of
                its value's type.
        """
        fields: dict[str, Any] = {}
        for key, value in kwargs.items():
            field = cls.model_fields.get(key)
            fields[key] = (field.annotation if field else type(value), value)
        model: type[R] = create_model(cls.__name__, __base__=cls, **fields)
        if description is not None:
            model._description = description
        return model


__all__ = ["RunInput"]
