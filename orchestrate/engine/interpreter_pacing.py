"""While a flow runs: fewer young garbage collections, and the GIL handed over sooner.

The process's own settings come back after.

**Collections.**
A task run makes a few dozen short-lived containers (its record, states,
parameters, generator frames). At CPython's threshold of 700 a flow of 100,000
task runs made ~1,500 young, ~140 middle and ~10 full collections, and every
full one walked each future and result the flow still held: 7-15 µs of CPU per
task run, more the longer the flow. With the youngest generation collected
every `FLOW_THRESHOLD` allocations instead, the same flow makes a few dozen
young and no full collection. Each young collection walks the records still
waiting for the store's writer (about one flush interval's worth, which it
promotes); at 20,000 a 100,000-task flow still spent ~1.5 us of CPU per task
run collecting (65 young, 6 middle), at 100,000 ~0.5 us. Nothing is kept
alive longer except cyclic garbage, which waits for at most `FLOW_THRESHOLD`
more allocations (a few MB). Prefect leaves the collector alone; results,
states and hooks are the same either way.

**Switching.** A thread that wants the GIL waits up to the switch interval
(CPython's 5 ms) for the thread that holds it, each time it comes back from
C code that let it go. The store's writer does that at every DuckDB call,
while the flow's thread holds the GIL almost always: in a 100,000-task flow
it wrote little during the flow and ~1.1 s after it. At `FLOW_SWITCH_INTERVAL`
(1 ms) its DuckDB work overlaps the flow on the second core: in alternation,
sequential 100k until stored 2.36-2.54 -> 2.05-2.12 s, submitted 3.1-3.5 ->
2.8-2.9 s, for ~5 % more process CPU (the overlap and the switches).

Both are changed when the first flow run of the process starts its body and
restored when the last one ends (flows may run in several threads), unless
the user changed them meanwhile (then theirs stays) or had set them further
(a higher threshold or 0, a shorter interval) before (then they are left alone).
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: The youngest generation's threshold while a flow runs (CPython's default is 700).
FLOW_THRESHOLD = 100_000
#: The switch interval while a flow runs, in seconds (CPython's default is 0.005).
FLOW_SWITCH_INTERVAL = 0.001

_lock = threading.Lock()
_running = 0
#: The threshold to restore once the last flow ends; None when it was left alone.
_saved: tuple[int, int, int] | None = None
#: The switch interval to restore once the last flow ends; None when it was left alone.
_saved_switch: float | None = None


@contextmanager
def paced_interpreter() -> Iterator[None]:
    """Around a flow run's body: see the module docstring."""
    _enter()
    try:
        yield
    finally:
        _leave()


def _enter() -> None:
    global _running, _saved, _saved_switch
    with _lock:
        _running += 1
        if _running > 1:
            return
        young, middle, old = gc.get_threshold()
        if 0 < young < FLOW_THRESHOLD:
            _saved = (young, middle, old)
            gc.set_threshold(FLOW_THRESHOLD, middle, old)
        interval = sys.getswitchinterval()
        if interval > FLOW_SWITCH_INTERVAL:
            _saved_switch = interval
            sys.setswitchinterval(FLOW_SWITCH_INTERVAL)


def _leave() -> None:
    global _running, _saved, _saved_switch
    with _lock:
        _running -= 1
        if _running:
            return
        if _saved is not None:
            saved, _saved = _saved, None
            young, middle, old = gc.get_threshold()
            if (young, middle, old) == (FLOW_THRESHOLD, saved[1], saved[2]):  # not the user's since
                gc.set_threshold(*saved)
        if _saved_switch is not None:
            interval, _saved_switch = _saved_switch, None
            if sys.getswitchinterval() == FLOW_SWITCH_INTERVAL:  # not the user's since
                sys.setswitchinterval(interval)
