"""Sort orders for the dashboard's tables: named keys to cycle through (`o`) and reverse (`O`).

Each table lists its keys once; the first is its natural order (runs by
(expected) start with the upcoming ones first, deployments by name, events
newest first). The order in use is named in the table's title, as k9s shows
the sorted column with an arrow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
UP, DOWN = "↑", "↓"


@dataclass(frozen=True)
class SortKey(Generic[T]):
    name: str  # as the title shows it: "name", "next run"
    key: Callable[[T], Any]


@dataclass
class Sorting(Generic[T]):
    """The keys a table can be sorted by, which one is in use, and whether reversed."""

    keys: tuple[SortKey[T], ...]
    index: int = 0
    reverse: bool = False

    @property
    def natural(self) -> bool:
        """The table's own order: the first key, not reversed."""
        return self.index == 0 and not self.reverse

    def cycle(self) -> None:
        self.index, self.reverse = (self.index + 1) % len(self.keys), False

    def flip(self) -> None:
        self.reverse = not self.reverse

    def label(self) -> str:
        """`name ↑`: the key in use and its direction."""
        return f"{self.keys[self.index].name} {DOWN if self.reverse else UP}"

    def apply(self, items: Iterable[T]) -> list[T]:
        return sorted(items, key=self.keys[self.index].key, reverse=self.reverse)


def missing_last(value: float | None) -> tuple[bool, float]:
    """A key for optional numbers that puts the missing ones after the rest."""
    return (value is None, value or 0.0)
