"""What `@flow` and `@task` decorate: functions, methods, classmethods, staticmethods, callables.

Prefect binds `self` when a flow or task is read from an instance and `cls`
for a classmethod; so does orc, by handing the engine a bound method whose
signature no longer has `self`, so `self` is never a parameter (not
validated, not recorded, not part of a cache key).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from copy import copy
from dataclasses import replace
from types import MethodType
from typing import Any, Literal, Self

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


class MethodBinding:
    """What `Flow` and `Task` share: read from an instance or a class, a decorated method
    binds `self` (or `cls`) as Prefect's do, and hooks can be added by decorator. Subclasses
    set `fn`, `options`, `signature`, `_kind`, `_bound` and `_method`, and rebuild what depends
    on the signature in `_resign`."""

    fn: Callable[..., Any]
    options: Any
    signature: inspect.Signature
    _kind: MethodKind
    _bound: bool
    _method: Any

    def __get__(self, instance: Any, owner: Any = None) -> Self:
        target = None if self._bound else binding_target(self._kind, instance, owner)
        if target is None:
            return self
        template = self._method or self._method_template()
        bound = copy(template)
        bound.fn = bind(self.fn, target)
        bound.options = self.options  # hooks added after the template was made count too
        return bound

    @property
    def ismethod(self) -> bool:
        """Whether this was read from an instance, with `self` bound (Prefect's `ismethod`)."""
        return self._bound and self._kind == "function"

    @property
    def isclassmethod(self) -> bool:
        return self._kind == "classmethod"

    @property
    def isstaticmethod(self) -> bool:
        return self._kind == "staticmethod"

    def _method_template(self) -> Self:
        """This one with `self` dropped from its signature (made once, copied per binding)."""
        template = copy(self)
        template._bound = True
        template.signature = without_first(self.signature)
        template._resign()
        self._method = template
        return template

    def _resign(self) -> None:
        """Rebuild what was made from the signature (it has just lost `self`)."""
        raise NotImplementedError

    def _add_hook(self, option: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """`@flow.on_completion`-style: add `fn` to the hooks `option` names; returns `fn`."""
        self.options = replace(self.options, **{option: (*getattr(self.options, option), fn)})
        return fn
