"""Flow parameters: bound from the call, validated and coerced from the signature.

Like Prefect, a flow's type hints are a contract: `"3"` becomes `3`, a dict
becomes a pydantic model, and a value that cannot fit is refused before the
body runs, with a message naming the parameter. pydantic is imported the first
time a flow needs it, not when orc is imported: values that already are
their annotated type (the common case: JSON ints for `int`, strings for `str`)
pass without it, which keeps a worker's cold start short.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from typing import Any, Union

from orchestrate.core.errors import ParameterBindError, ParameterTypeError

_EMPTY = inspect.Parameter.empty
_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def bind_parameters(
    fn: Callable[..., Any],
    signature: inspect.Signature,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> dict[str, Any]:
    """The call's arguments by parameter name, defaults included."""
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise ParameterBindError(
            f"Flow {fn.__name__!r} was called with arguments that do not fit its signature "
            f"{fn.__name__}{signature}: {exc}."
        ) from exc
    bound.apply_defaults()
    return dict(bound.arguments)


class ParameterValidator:
    """Validates and coerces a flow's parameters against its signature (built once per flow)."""

    def __init__(
        self, flow_name: str, fn: Callable[..., Any], signature: inspect.Signature
    ) -> None:
        self.flow_name = flow_name
        self.fn = fn
        self.signature = signature
        self._model: Any = None
        self._hints: dict[str, Any] | None = None
        self._checked = {
            p.name: p.default for p in signature.parameters.values() if p.kind not in _VARIADIC
        }

    def validate(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """The parameters coerced to their annotated types; raises `ParameterTypeError`.

        Defaults are checked and coerced like passed values, as Prefect does
        (a dict default becomes the annotated model). A `None` default left in
        place is the exception: `x: int = None` is common Python.
        """
        given = {
            name: parameters[name]
            for name, default in self._checked.items()
            if name in parameters and not (default is None and parameters[name] is None)
        }
        if not given:
            return parameters
        hints = self._type_hints()
        if all(_already(value, hints.get(name, Any)) for name, value in given.items()):
            return parameters  # nothing to coerce: pydantic would return the same values
        from pydantic import ValidationError

        model = self._model or self._build_model()
        try:
            validated = model.model_validate(given)
        except ValidationError as exc:
            raise ParameterTypeError(self._describe(exc, parameters)) from None
        coerced = dict(parameters)
        for name in given:
            coerced[name] = getattr(validated, _field(name))
        return coerced

    def _type_hints(self) -> dict[str, Any]:
        if self._hints is None:
            self._hints = _type_hints(self.fn)
        return self._hints

    def _build_model(self) -> Any:
        from pydantic import ConfigDict, Field, create_model

        hints = self._type_hints()
        fields: dict[str, Any] = {}
        for p in self.signature.parameters.values():
            if p.kind in _VARIADIC:
                continue
            annotation = hints.get(p.name, Any)
            default = ... if p.default is _EMPTY else p.default
            fields[_field(p.name)] = (annotation, Field(default, alias=p.name))
        self._model = create_model(
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
            annotation = self._type_hints().get(name, _EMPTY)
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


_EXACT = (
    int,
    float,
    str,
    bool,
    bytes,
    list,
    dict,
)  # bare types whose values pydantic returns as they are
_UNIONS = (Union, types.UnionType)


def _already(value: Any, annotation: Any) -> bool:
    """`value` is exactly of the simple type `annotation` names (`None` for optional ones).

    Conservative on purpose: anything else (a subclass, `True` for `int`, `3`
    for `float`, generics, models) goes to pydantic, which coerces or refuses.
    """
    if annotation is Any or annotation is _EMPTY:
        return True
    if annotation in _EXACT:
        return type(value) is annotation
    if annotation is None or annotation is type(None):
        return value is None
    if typing.get_origin(annotation) in _UNIONS:
        return any(_already(value, member) for member in typing.get_args(annotation))
    return False


def _field(name: str) -> str:
    # pydantic reserves names starting with an underscore and some BaseModel attributes.
    return f"p_{name}"


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
