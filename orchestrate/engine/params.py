"""Flow parameters: bound from the call, validated and coerced from the signature.

Like Prefect, a flow's type hints are a contract: `"3"` becomes `3`, a dict
becomes a pydantic model, and a value that cannot fit is refused before the
body runs, with a message naming the parameter. pydantic is imported the first
time a flow with parameters is called, not when orc is imported.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

from orchestrate.errors import ParameterTypeError

_EMPTY = inspect.Parameter.empty
_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def bind_parameters(
    fn: Callable[..., Any], signature: inspect.Signature, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """The call's arguments by parameter name, defaults included."""
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise ParameterTypeError(
            f"Flow {fn.__name__!r} was called with arguments that do not fit its signature "
            f"{fn.__name__}{signature}: {exc}."
        ) from exc
    bound.apply_defaults()
    return dict(bound.arguments)


class ParameterValidator:
    """Validates and coerces a flow's parameters against its signature (built once per flow)."""

    def __init__(self, flow_name: str, fn: Callable[..., Any], signature: inspect.Signature) -> None:
        self.flow_name = flow_name
        self.fn = fn
        self.signature = signature
        self._model: Any = None
        self._checked = [
            p.name for p in signature.parameters.values() if p.kind not in _VARIADIC
        ]

    def validate(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """The parameters coerced to their annotated types; raises `ParameterTypeError`."""
        if not self._checked:
            return parameters
        from pydantic import ValidationError

        model = self._model or self._build_model()
        try:
            validated = model.model_validate({k: parameters[k] for k in self._checked if k in parameters})
        except ValidationError as exc:
            raise ParameterTypeError(self._describe(exc, parameters)) from None
        coerced = dict(parameters)
        for name in self._checked:
            if name in parameters:
                coerced[name] = getattr(validated, _field(name))
        return coerced

    def _build_model(self) -> Any:
        from pydantic import ConfigDict, Field, create_model

        hints = _type_hints(self.fn)
        fields: dict[str, Any] = {}
        for p in self.signature.parameters.values():
            if p.kind in _VARIADIC:
                continue
            annotation = hints.get(p.name, Any)
            default = ... if p.default is _EMPTY else p.default
            fields[_field(p.name)] = (annotation, Field(default, alias=p.name))
        self._model = create_model(  # type: ignore[call-overload]
            f"{self.flow_name}_parameters",
            __config__=ConfigDict(arbitrary_types_allowed=True, populate_by_name=True),
            **fields,
        )
        return self._model

    def _describe(self, exc: Any, parameters: dict[str, Any]) -> str:
        problems = []
        for error in exc.errors():
            location = ".".join(str(part) for part in error["loc"])
            name = str(error["loc"][0]) if error["loc"] else "?"
            annotation = _type_hints(self.fn).get(name, _EMPTY)
            expected = "" if annotation is _EMPTY else f" (expected {_type_name(annotation)})"
            got = f"; got {parameters[name]!r}" if name in parameters else ""
            problems.append(f"parameter {location!r}{expected}: {error['msg']}{got}")
        return (
            f"Flow {self.flow_name!r} refused its parameters before running: "
            + "; ".join(problems)
            + ". Pass values of the annotated types (on the command line: -p name=value, values parsed as JSON)."
        )


def _type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """The parameters' annotations as types (string annotations resolved); unresolvable ones are left out."""
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception:
        hints = {
            name: p.annotation
            for name, p in inspect.signature(fn).parameters.items()
            if p.annotation is not _EMPTY and not isinstance(p.annotation, str)
        }
    hints.pop("return", None)
    return hints


def _field(name: str) -> str:
    # pydantic reserves names starting with an underscore and some BaseModel attributes.
    return f"p_{name}"


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
