"""How a typed daemon call is written once and offered by both clients.

A `Call` is one request: its method, its params and the parser of its
result. An `Rpc` turns a function that builds a `Call` into a method of any
client that can run calls: on `Client` it returns the result, on
`AsyncClient` an awaitable of it. The parameters, result type and docstring
come from that one function (`orchestrate.client.calls` holds them all).
"""

from __future__ import annotations

import inspect
import json
import types
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import (
    Any,
    Generic,
    Literal,
    ParamSpec,
    Protocol,
    TypeVar,
    Union,
    get_args,
    get_origin,
    overload,
)

from pydantic import BaseModel, ValidationError

from orchestrate.client.wire import given as given
from orchestrate.client.wire import timed_out as timed_out
from orchestrate.core.errors import ClientError

P = ParamSpec("P")
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


class Blocking(Protocol):
    """A client that runs a call and waits for its result (`Client`)."""

    def _run(self, call: Call[T]) -> T: ...


class Awaiting(Protocol):
    """A client whose calls are awaited (`AsyncClient`)."""

    def _run(self, call: Call[T]) -> Coroutine[Any, Any, T]: ...


class _Signature:
    """`Rpc.__signature__`: the builder's parameters after the client's, for `help()` and
    `inspect`; worked out when asked, so importing a client stays cheap."""

    def __get__(self, rpc: Rpc[..., Any] | None, owner: type) -> inspect.Signature | None:
        if rpc is None:
            return None  # the class `Rpc` itself has an ordinary signature
        built = inspect.signature(rpc.build)
        client = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
        result = str(built.return_annotation).removeprefix("Call[").removesuffix("]")
        return built.replace(
            parameters=[client, *built.parameters.values()], return_annotation=result
        )


class Rpc(Generic[P, T]):
    """A daemon call as a client method, written once as the function that builds its `Call`.

    Read on a `Blocking` client it is a method returning `T`; on an `Awaiting`
    one, a method returning an awaitable of `T`. Either way it has the
    builder's parameters, name and docstring.
    """

    __signature__ = _Signature()

    def __init__(self, build: Callable[P, Call[T]]) -> None:
        self.build = build
        self.__doc__ = build.__doc__
        self.__name__ = self.__qualname__ = build.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self.__name__ = name
        self.__qualname__ = f"{owner.__qualname__}.{name}"

    @overload
    def __get__(self, client: None, owner: type) -> Rpc[P, T]: ...
    @overload
    def __get__(self, client: Blocking, owner: type) -> Callable[P, T]: ...
    @overload
    def __get__(self, client: Awaiting, owner: type) -> Callable[P, Coroutine[Any, Any, T]]: ...
    def __get__(self, client: object, owner: type) -> object:
        return self if client is None else types.MethodType(self, client)

    def __repr__(self) -> str:
        return f"<daemon call {self.__qualname__}>"

    def __call__(self, client: Blocking | Awaiting, /, *args: P.args, **kwargs: P.kwargs) -> Any:
        """Run the call on `client`: what the bound method does, for either kind of client."""
        return client._run(self.build(*args, **kwargs))


def many(model: type[M]) -> Callable[[Any], list[M]]:
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
