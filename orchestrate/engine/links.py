"""Results linked back to the task run that produced them, by identity, as Prefect links them.

A value a task returned and the flow passes on to another task becomes a
data edge. The link is by `id()`, so it must not outlive its value: a new
object at the same address would be taken for it. A value that takes a weak
reference (class instances, arrays, data frames: the big ones) is watched by
one, so the flow run never keeps a result its caller has let go of. Others
(numbers, strings, lists, dicts, tuples) cannot be watched, so they are kept
and swept: a kept value whose only reference left is the link's own can
never be passed on again, and its link goes. A sweep runs when the links
double, and after each of the interpreter's full collections (which
`gc.collect()` asks for): a flow of 100,000 tasks whose results nobody holds
does not keep 100,000 values to the end.

A sweep may run in any thread, even inside `add` (a collection starts at an
allocation), so it only looks up and pops, one key at a time, and never
replaces the dicts.

Ids and run ids sit in plain dicts, not a tuple per link: a dict of numbers
and strings is not tracked by the garbage collector, so 100,000 links do not
make every full collection of a long flow run slower.
"""

from __future__ import annotations

import gc
import sys
import weakref
from typing import Any

_NEVER_LINKED = (bool, type(None))
#: Fewest kept values before `add` sweeps; then twice what the last sweep left.
SWEEP_AT_LEAST = 4096
#: A kept value's references during a sweep when only the link holds it: the
#: dict's, the sweep's local name, and `getrefcount`'s own argument.
_ONLY_OURS = 3


def is_linkable(value: Any) -> bool:
    """Whether a result can be traced back to its task run by identity (not interned)."""
    if isinstance(value, _NEVER_LINKED):
        return False
    return not (type(value) is int and -5 <= value <= 256)


class _Watch(weakref.ref[Any]):
    """A weak reference that knows the id its value had, for the callback once it is gone."""

    __slots__ = ("key",)
    key: int


class ResultLinks:
    """id(result) -> the task run that returned it, for as long as the result lives."""

    __slots__ = ("__weakref__", "_gone", "_held", "_runs", "_sweep_at")

    def __init__(self) -> None:
        self._runs: dict[int, str] = {}
        #: id -> a weak reference to the value, or the value itself when it takes none.
        self._held: dict[int, Any] = {}
        self._gone = _forgetter(weakref.ref(self))
        self._sweep_at = SWEEP_AT_LEAST
        _LIVE.add(self)

    def add(self, task_run_id: str, value: Any) -> None:
        key = id(value)
        held: Any = value  # no weak reference to it: kept, so its id is not reused
        if type(value).__weakrefoffset__:  # it takes one (asked without raising: the hot path)
            try:
                held = _Watch(value, self._gone)
                held.key = key
            except TypeError:  # a type that says it does and does not
                held = value
        self._held[key] = held
        self._runs[key] = task_run_id
        if len(self._held) >= self._sweep_at:
            self.sweep()

    def sweep(self) -> None:
        """Drop the links of kept values nobody else references: they cannot come back."""
        held, runs, refcount = self._held, self._runs, sys.getrefcount
        for key in list(held):  # the keys are ints: copying them cannot start a collection
            value = held.get(key)
            if type(value) is not _Watch and refcount(value) <= _ONLY_OURS:
                held.pop(key, None)
                runs.pop(key, None)
        value = None
        self._sweep_at = max(SWEEP_AT_LEAST, 2 * len(held))

    def run_of(self, value: Any) -> str | None:
        """The task run `value` came from, or None."""
        key = id(value)
        held = self._held.get(key)
        if held is None:
            return None
        if held is not value and not (type(held) is _Watch and held() is value):
            return None
        return self._runs.get(key)

    def forget(self, key: int, ref: object) -> None:
        """The value behind `ref` is gone: drop its link, unless a new value took the id since."""
        if self._held.get(key) is ref:
            del self._held[key]
            self._runs.pop(key, None)

    def __len__(self) -> int:
        return len(self._held)


_LIVE: weakref.WeakSet[ResultLinks] = weakref.WeakSet()


def _after_full_collection(phase: str, info: dict[str, int]) -> None:
    if phase == "stop" and info["generation"] == 2:
        for links in list(_LIVE):
            links.sweep()


gc.callbacks.append(_after_full_collection)


def _forgetter(links: weakref.ref[ResultLinks]) -> Any:
    """The callback of every watch of one flow run's links; it holds them weakly, so no cycle."""

    def gone(watch: _Watch) -> None:
        owner = links()
        if owner is not None:
            owner.forget(watch.key, watch)

    return gone


__all__ = ["ResultLinks", "is_linkable"]
