"""Wrappers that change how a task argument is treated (Prefect's `unmapped`, `allow_failure`, `quote`)."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

T = TypeVar("T")


class BaseAnnotation(Generic[T]):
    """A value wrapped to tell the engine how to treat it."""

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value

    def unwrap(self) -> T:
        return self.value

    def rewrap(self, value: T) -> BaseAnnotation[T]:
        """The same annotation around another value (each mapped item keeps its wrapper)."""
        return type(self)(value)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.value == other.value

    def __hash__(self) -> int:
        return hash((type(self), id(self.value)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.value!r})"


class unmapped(BaseAnnotation[T]):
    """Pass the same value to every mapped task run instead of iterating over it."""

    __slots__ = ()

    def __getitem__(self, _: Any) -> T:
        return self.value


class allow_failure(BaseAnnotation[T]):
    """Let a downstream task run even if this upstream future or state failed."""

    __slots__ = ()


class quote(BaseAnnotation[T]):
    """Pass a value through untouched: no future resolution, no dependency tracking."""

    __slots__ = ()

    def unquote(self) -> T:
        """The quoted value (Prefect's name for `unwrap`)."""
        return self.value


__all__ = ["BaseAnnotation", "allow_failure", "quote", "unmapped"]
