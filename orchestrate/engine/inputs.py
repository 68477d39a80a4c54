"""A task's inputs: resolving futures and states to values, and recording what they came from.

One walk over the arguments (and the lists, tuples, sets and dicts inside
them) finds the upstream task runs — futures and states passed in, results
linked back to their task run by identity (as Prefect does), `wait_for` — and
either records those edges, resolves the values, or both.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from orchestrate.core.annotations import BaseAnnotation, allow_failure, quote
from orchestrate.core.errors import UpstreamTaskError
from orchestrate.core.records import EdgeKind, EdgeRecord, RecordSink
from orchestrate.core.states import State, StateType
from orchestrate.engine.futures import PrefectFuture
from orchestrate.engine.links import ResultLinks, is_linkable

_COLLECTIONS = (list, tuple, set, frozenset, dict)


#: Values a walk leaves as they are: no future, state, annotation or collection can hide in them.
_PLAIN = frozenset({int, float, complex, str, bytes, bool, type(None)})


def plain_upstreams(parameters: dict[str, Any], links: ResultLinks | None) -> list[str] | None:
    """The task runs plain arguments (numbers, strings) came from; None if any needs the full walk.

    `InputWalker`'s answer for such arguments, which most task calls pass, at a
    fraction of its cost: nothing to resolve, only results linked by identity.
    """
    found: dict[str, None] | None = None
    linked = links is not None  # an empty one answers None at once: no `len` per call
    for value in parameters.values():
        kind = type(value)
        if kind not in _PLAIN:
            return None
        # `is_linkable` written out: a call per argument costs ~80 ns of every task run. It
        # skips only values that rule never links; tests/engine/test_futures_and_edges.py
        # checks that this and the walk find the same upstreams.
        if linked and kind is not bool and value is not None:
            if kind is int and -5 <= value <= 256:
                continue
            upstream = links.run_of(value)  # type: ignore[union-attr]  # linked: not None
            if upstream is not None:
                if found is None:
                    found = {}
                found[upstream] = None
    return list(found) if found else []


class SelfDependencyError(ValueError):
    """A task run's inputs hold its own future (a list filled after submit): waiting would hang."""

    @classmethod
    def of(cls, task_name: str) -> SelfDependencyError:
        """Prefect's words for it."""
        return cls(
            "Discovered a task depending on itself. Raising to avoid a deadlock. "
            f"Please inspect the inputs and dependencies of {task_name}."
        )


class InputWalker:
    """Walks one task run's arguments; see the module docstring."""

    __slots__ = ("edges", "failure", "links", "own", "pending", "resolve", "wrapped")

    def __init__(
        self,
        links: ResultLinks | None,
        resolve: bool,
        own: tuple[str, str] | None = None,
    ) -> None:
        self.links = links
        self.resolve = resolve
        #: The (task run id, task name) whose inputs these are, to refuse waiting on itself.
        self.own = own
        self.edges: dict[tuple[str, EdgeKind], None] = {}
        self.pending: list[PrefectFuture] = []
        self.failure: str | None = None
        #: Whether a future, state or annotation was met: only then do values need resolving.
        self.wrapped = False

    def walk_parameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
        return {name: self.visit(value, "data", False) for name, value in parameters.items()}

    def walk_wait_for(self, wait_for: Iterable[Any]) -> None:
        for item in wait_for:
            self.visit(item, "wait_for", False)

    def visit(self, value: Any, kind: EdgeKind, allowed: bool) -> Any:
        if isinstance(value, PrefectFuture):
            self.wrapped = True
            return self._future(value, kind, allowed)
        if isinstance(value, State):
            self.wrapped = True
            return self._state(value, kind, allowed)
        if isinstance(value, BaseAnnotation):
            self.wrapped = True
            if isinstance(value, quote):
                return value.value
            return self.visit(value.value, kind, allowed or isinstance(value, allow_failure))
        if self.links and is_linkable(value):
            upstream = self.links.run_of(value)
            if upstream is not None:
                self.edges[(upstream, kind)] = None
        if isinstance(value, _COLLECTIONS):
            return self._collection(value, kind, allowed)
        return value

    def _future(self, future: PrefectFuture, kind: EdgeKind, allowed: bool) -> Any:
        self.edges[(future.task_run_id, kind)] = None
        if not self.resolve:
            if not future.done():
                self.pending.append(future)
            return future
        if self.own is not None and future.task_run_id == self.own[0]:
            raise SelfDependencyError.of(self.own[1])
        return self._state(future.wait_state(), kind, allowed, recorded=True)

    def _state(self, state: State, kind: EdgeKind, allowed: bool, recorded: bool = False) -> Any:
        if not recorded and state.run_id is not None:
            self.edges[(state.run_id, kind)] = None
        if not self.resolve:
            return state
        if state.type is StateType.COMPLETED:
            return state.sync_result()  # the value, read back if it was kept only in storage
        if not allowed and self.failure is None:
            self.failure = f"Upstream task run {state.run_id or '?'} ended {state.name}" + (
                f": {state.message}" if state.message else ""
            )
        if not state.is_final():  # NotReady: its data (why it did not run), as Prefect passes on
            return state.data
        return state.sync_result(raise_on_failure=False)

    def _collection(self, value: Any, kind: EdgeKind, allowed: bool) -> Any:
        if isinstance(value, dict):
            items = {k: self.visit(v, kind, allowed) for k, v in value.items()}
            if not self.resolve or all(items[k] is value[k] for k in value):
                return value
            return type(value)(items) if type(value) is not dict else items
        visited = [self.visit(v, kind, allowed) for v in value]
        if not self.resolve or all(a is b for a, b in zip(visited, value, strict=True)):
            return value
        if hasattr(value, "_fields"):  # a namedtuple takes its fields positionally
            return type(value)(*visited)
        return type(value)(visited)

    def record_edges(self, sink: RecordSink, flow_run_id: str, task_run_id: str) -> None:
        for upstream, kind in self.edges:
            if upstream != task_run_id:
                sink.put(EdgeRecord(flow_run_id, task_run_id, upstream, kind))

    def raise_for_failure(self) -> None:
        if self.failure is not None:
            raise UpstreamTaskError(self.failure)
