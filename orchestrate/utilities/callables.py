"""What `@flow` and `@task` decorate: functions, methods, classmethods, staticmethods, callables.

Prefect binds `self` when a flow or task is read from an instance and `cls`
for a classmethod; so does orc, by handing the engine a bound method whose
signature no longer has `self`, so `self` is never a parameter (not
validated, not recorded, not part of a cache key).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import MethodType
from typing import Any, Literal

MethodKind = Literal["function", "classmethod", "staticmethod"]


def unwrap(fn: Any) -> tuple[Callable[..., Any], MethodKind]:
    """The function inside a classmethod or staticmethod, and which it was."""
    if isinstance(fn, classmethod):
        return fn.__func__, "classmethod"
    if isinstance(fn, staticmethod):
        return fn.__func__, "staticmethod"
    if not callable(fn):
        raise TypeError(f"'fn' must be callable; got {type(fn).__name__}. Decorate a function.")
    return fn, "function"


def rewrap(fn: Callable[..., Any], kind: MethodKind) -> Any:
    """`fn` as it was decorated (so a copy with other options binds the same way)."""
    if kind == "classmethod":
        return classmethod(fn)
    if kind == "staticmethod":
        return staticmethod(fn)
    return fn


def default_name(fn: Callable[..., Any]) -> str:
    """The function's name, or the class name of a callable object (as Prefect names them)."""
    return getattr(fn, "__name__", None) or type(fn).__name__


def binding_target(kind: MethodKind, instance: Any, owner: Any) -> Any:
    """What to bind the first argument to when read as an attribute, or None to stay unbound."""
    if kind == "classmethod":
        return owner
    if kind == "function":
        return instance
    return None  # a staticmethod binds nothing


def bind(fn: Callable[..., Any], target: Any) -> MethodType:
    return MethodType(fn, target)


def without_first(signature: inspect.Signature) -> inspect.Signature:
    """The signature once `self` (or `cls`) is bound."""
    return signature.replace(parameters=list(signature.parameters.values())[1:])


def is_async(fn: Callable[..., Any]) -> bool:
    """Whether calling `fn` returns a coroutine (an `async def __call__` counts)."""
    if inspect.iscoroutinefunction(fn):
        return True
    if inspect.isfunction(fn) or inspect.ismethod(fn):
        return False
    return inspect.iscoroutinefunction(type(fn).__call__)
