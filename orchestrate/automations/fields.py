"""Field types shared by trigger and action specs: durations, glob lists, secrets, templates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from orchestrate.automations.templating import compile_value, template_problems
from orchestrate.core.durations import parse_duration
from orchestrate.core.errors import ActionFailed


class Spec(BaseModel):
    """Base of every automation spec: unknown keys are refused, specs never change once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _to_timedelta(value: Any) -> Any:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return parse_duration(value)
    return value


#: "90s", "15m", "1h30m", "PT15M" or a number of seconds.
Duration = Annotated[timedelta, BeforeValidator(_to_timedelta)]


def _to_tuple(value: Any) -> Any:
    return (value,) if isinstance(value, str) else value


#: One glob or a list of globs (any of which may match); a leading "!" negates one.
Globs = Annotated[tuple[Annotated[str, Field(min_length=1)], ...], BeforeValidator(_to_tuple)]


def _non_empty(value: tuple[Any, ...]) -> tuple[Any, ...]:
    if not value:
        raise ValueError("the list is empty; give at least one")
    return value


#: Checked after the items, so that one bad item reports only itself (pydantic's `min_length`
#: would add a second, confusing "too short" error).
NonEmpty = AfterValidator(_non_empty)


class FromEnv(Spec):
    """`{ from_env = "NAME" }`: a secret read from the daemon's environment when the action runs.

    The value is never written to the store, the logs or an outcome event.
    """

    from_env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")

    def reveal(self, environ: Mapping[str, str], where: str) -> str:
        """The secret's value; `where` names the setting that needs it, for the error."""
        value = environ.get(self.from_env)
        if value is None:
            raise ActionFailed(
                f"{where} reads the environment variable {self.from_env}, which is not set for the daemon; "
                f"set it where `orc up` starts"
            )
        return value


def reveal(value: Any, environ: Mapping[str, str], where: str) -> Any:
    """`value` with a `{ from_env = … }` replaced by the secret it names."""
    return value.reveal(environ, where) if isinstance(value, FromEnv) else value


def compile_templates(spec: BaseModel, names: Iterable[str]) -> dict[str, Any]:
    """Parses the templates in the fields `names` of `spec`, or raises a validation error naming the place."""
    for name in names:
        for path, reason in template_problems(getattr(spec, name), (name,)):
            where = ".".join(str(p) for p in path)
            raise PydanticCustomError(
                "template", "{where}: {reason}", {"where": where, "path": path, "reason": reason}
            )
    return {name: compile_value(getattr(spec, name)) for name in names}
