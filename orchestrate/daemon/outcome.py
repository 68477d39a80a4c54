"""A result set once that several tasks may wait for, each free to give up alone.

`asyncio.shield(future)` gives that at three callbacks of the loop a wait (the
inner future's done callback, the outer one's, then the waiter's step); here a
wait costs the waiter's step alone. A worker's exit is waited for this way,
twice a run (its process, then its handle).
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

T = TypeVar("T")


class Outcome(Generic[T]):
    """A value to come, set once; a cancelled wait leaves it to come for the other waiters."""

    def __init__(self) -> None:
        self._value: tuple[T] | None = None
        self._waiters: list[asyncio.Future[None]] = []

    def done(self) -> bool:
        return self._value is not None

    def set(self, value: T) -> None:
        """Set the value and wake every waiter; a value set already stands."""
        if self._value is not None:
            return
        self._value = (value,)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait(self) -> T:
        """The value, once set."""
        if self._value is None:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter.cancelled() and waiter in self._waiters:
                    self._waiters.remove(waiter)
        assert self._value is not None
        return self._value[0]


__all__ = ["Outcome"]
