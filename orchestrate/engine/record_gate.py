"""The state changes of runs on a task runner's threads, refused once their flow run gave up on them.

A thread cannot be stopped. When SIGTERM ends a flow run (`sigterm`), the task
runs it submitted that have not finished are recorded Crashed, and the process
ends once its records are written; until then their threads go on, and one
that finishes meanwhile would record Completed after Crashed. The store keeps
the last state it is given, so that Completed would stand. So the runs on a
runner's threads (submitted task runs, and the task runs and subflow runs they
start there, and the gates of runners those subflows enter) change state
through the runner's gate: it keeps the unfinished ones, and `cut_off`
records them Crashed and refuses every change after.

A change and the cut-off never interleave, without a lock on the way of every
change: a change marks its thread busy before it reads `shut`, and `cut_off`
sets `shut` before it waits for busy threads. Python runs one thread at a
time, so either the change sees `shut` and records nothing, or `cut_off` sees
it under way and waits for it to be recorded, before recording the crash.
"""

from __future__ import annotations

import threading
import weakref

from orchestrate.core.records import FlowRunRecord, RecordPut, TaskRunRecord
from orchestrate.core.runs import transition
from orchestrate.core.states import TERMINAL_STATES, State
from orchestrate.engine.outcomes import failure_state

Run = TaskRunRecord | FlowRunRecord

#: The longest `cut_off` waits for a change under way: a few puts into a sink, never I/O.
CHANGE_SECONDS = 5.0


class RecordGate:
    """Where the runs on one task runner's threads change state, until `cut_off`."""

    __slots__ = ("__weakref__", "_busy", "_done", "_inner", "_unfinished", "shut")

    def __init__(self, outer: RecordGate | None = None) -> None:
        self.shut = False
        self._busy: dict[int, bool] = {}  # by thread: a change under way
        self._done = threading.Condition()  # notified as a change ends, once shut
        self._unfinished: dict[str, tuple[Run, RecordPut]] = {}
        #: Gates of runners entered on this one's threads (a subflow's): cut off with it.
        self._inner: weakref.WeakSet[RecordGate] = weakref.WeakSet()
        if outer is not None:
            outer._inner.add(self)

    def admit(self, run: TaskRunRecord, sink: RecordPut) -> None:
        """A run the runner's threads will take on, recorded already by the thread that made it."""
        self._unfinished[run.id] = (run, sink)

    def record(self, run: Run, state: State, sink: RecordPut, initial: bool = False) -> bool:
        """`transition(run, state, sink)`, and True; once shut, False with nothing recorded."""
        busy, me = self._busy, threading.get_ident()
        busy[me] = True  # before `shut` is read (see the module's docstring)
        try:
            if self.shut:
                return False
            transition(run, state, sink, initial)
            if state.type in TERMINAL_STATES:
                self._unfinished.pop(run.id, None)
            elif initial:
                self._unfinished[run.id] = (run, sink)
            return True
        finally:
            busy[me] = False
            if self.shut:
                with self._done:
                    self._done.notify_all()

    def cut_off(self, reason: BaseException) -> None:
        """Refuse every change from now on, then record every unfinished run ended by `reason`."""
        self.shut = True
        for inner in list(self._inner):
            inner.cut_off(reason)
        with self._done:
            self._done.wait_for(self._quiet, CHANGE_SECONDS)
        unfinished, self._unfinished = self._unfinished, {}
        for run, sink in list(unfinished.values()):  # copied in one step: `admit` may add to it
            if not run.state.is_final():  # ended by a change that went around the gate
                noun = "Task run" if type(run) is TaskRunRecord else "Flow run"
                transition(run, failure_state(reason, noun), sink)

    def _quiet(self) -> bool:
        return not any(list(self._busy.values()))  # copied in one step: threads add keys
