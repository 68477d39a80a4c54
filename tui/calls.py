"""Which call of a task each task run came from, read from the graph: one graph row per call.

A task run carries its task's key but not the line that called it, so two
calls of one task (a `.map()` of 250 and a loop of 30) would share a row.
The graph tells them apart: runs of a task that feed each other are a chain
(the loop `x = t(x)`, its head included), and the other runs are told apart
by the tasks they depend on (a `.map()` over one producer's outputs has one
such set). Each distinct pattern of a task gets a call key; the first one
seen keeps the task's own key, so a task called once reads as before.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from orchestrate.client.protocol import TaskRunInfo

CHAIN: tuple[str, ...] = ("\x00chain",)  # the pattern of a chain, unlike any set of task keys
_NUMBERED = re.compile(r"-\d+$")


class CallSites:
    """Task runs bucketed by flow run and call key, kept as runs and edges arrive."""

    def __init__(self) -> None:
        self._buckets: dict[str, dict[str, list[str]]] = {}  # flow run -> call key -> ids
        self._key: dict[str, str] = {}  # task run id -> call key
        self._pattern: dict[str, tuple[str, ...]] = {}  # task run id -> its pattern
        self._keys: dict[tuple[str, str], dict[tuple[str, ...], str]] = {}  # (run, task) -> keys
        self._heads: set[str] = set()  # runs that feed a run of their own task
        self._names: dict[str, str] = {}  # task key -> its runs' name without the number

    # ---- reading ---------------------------------------------------------

    def has_run(self, flow_run_id: str) -> bool:
        return flow_run_id in self._buckets

    def key_of(self, task_run_id: str) -> str:
        return self._key.get(task_run_id, "")

    def ids(self, flow_run_id: str, call_key: str) -> list[str]:
        return self._buckets[flow_run_id][call_key]

    def in_order(self, flow_run_id: str, task_runs: Mapping[str, TaskRunInfo]) -> list[str]:
        """The run's call keys, by when their first run was created (upstream before downstream)."""
        buckets = self._buckets.get(flow_run_id, {})

        def first(call_key: str) -> tuple[float, int]:
            return min((task_runs[i].created, task_runs[i].dynamic_key) for i in buckets[call_key])

        return sorted(buckets, key=first)

    def count(self, flow_run_id: str, task_key: str) -> int:
        """How many calls of the task the run holds (with a second, each call is labelled)."""
        buckets = self._buckets.get(flow_run_id, {})
        return sum(
            1 for key in self._keys.get((flow_run_id, task_key), {}).values() if key in buckets
        )

    def label(self, flow_run_id: str, call_key: str, task_runs: Mapping[str, TaskRunInfo]) -> str:
        """How a call differs from the task's other calls (`chained`, `after extract`), or ""."""
        ids = self._buckets[flow_run_id][call_key]
        if self.count(flow_run_id, task_runs[ids[0]].task_key) < 2:
            return ""
        pattern = self._pattern[ids[0]]
        if pattern == CHAIN:
            return "chained"
        if not pattern:
            return "no upstream"
        return "after " + ", ".join(self._names.get(key, key) for key in pattern)

    # ---- changes ---------------------------------------------------------

    def add_run(self, flow_run_id: str) -> None:
        self._buckets.setdefault(flow_run_id, {})

    def add(self, task_run: TaskRunInfo, task_runs: Mapping[str, TaskRunInfo]) -> tuple[bool, bool]:
        """File a new task run; (first of its call, an earlier run moved to another call)."""
        self._names.setdefault(task_run.task_key, _NUMBERED.sub("", task_run.name))
        moved = self._mark_heads(task_run, task_runs)
        self._file(task_run, self._pattern_of(task_run, task_runs))
        ids = self._buckets[task_run.flow_run_id][self._key[task_run.id]]
        return len(ids) == 1, moved

    def recall(self, task_run: TaskRunInfo, task_runs: Mapping[str, TaskRunInfo]) -> bool:
        """A run's upstream changed: file it (and a chain head it names) anew; True if any moved."""
        moved = self._mark_heads(task_run, task_runs)
        pattern = self._pattern_of(task_run, task_runs)
        if pattern != self._pattern.get(task_run.id):
            self._unfile(task_run)
            self._file(task_run, pattern)
            moved = True
        return moved

    # ---- internals -------------------------------------------------------

    def _pattern_of(
        self, task_run: TaskRunInfo, task_runs: Mapping[str, TaskRunInfo]
    ) -> tuple[str, ...]:
        if task_run.id in self._heads:
            return CHAIN
        keys = {
            task_runs[edge.upstream_id].task_key
            for edge in task_run.upstream
            if edge.upstream_id in task_runs
        }
        return CHAIN if task_run.task_key in keys else tuple(sorted(keys))

    def _mark_heads(self, task_run: TaskRunInfo, task_runs: Mapping[str, TaskRunInfo]) -> bool:
        """Runs of the same task this one depends on are a chain too; True if one moved."""
        moved = False
        for edge in task_run.upstream:
            upstream = task_runs.get(edge.upstream_id)
            if (
                upstream is None
                or upstream.task_key != task_run.task_key
                or upstream.flow_run_id != task_run.flow_run_id
                or upstream.id in self._heads
            ):
                continue
            self._heads.add(upstream.id)
            if upstream.id in self._key and self._pattern[upstream.id] != CHAIN:
                self._unfile(upstream)
                self._file(upstream, CHAIN)
                moved = True
        return moved

    def _file(self, task_run: TaskRunInfo, pattern: tuple[str, ...]) -> None:
        calls = self._keys.setdefault((task_run.flow_run_id, task_run.task_key), {})
        key = calls.get(pattern)
        if key is None:
            key = task_run.task_key if not calls else f"{task_run.task_key}#{len(calls) + 1}"
            calls[pattern] = key
        self._buckets.setdefault(task_run.flow_run_id, {}).setdefault(key, []).append(task_run.id)
        self._key[task_run.id] = key
        self._pattern[task_run.id] = pattern

    def _unfile(self, task_run: TaskRunInfo) -> None:
        buckets = self._buckets[task_run.flow_run_id]
        key = self._key.pop(task_run.id)
        buckets[key].remove(task_run.id)
        if not buckets[key]:
            del buckets[key]
