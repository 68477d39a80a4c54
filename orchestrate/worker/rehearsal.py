"""A flow run the zygote makes before it forks, so its workers start from a used interpreter.

A forked worker pays ~3 µs of kernel time for each page of the zygote it
writes to, and in CPython 3.11 running code writes to pages besides the
objects it uses: a function counts its first calls and is then rewritten
in place (quickened), and an attribute or method looked up for the first
time is written into the interpreter's type cache (touching the names it
evicts). A zygote that had only imported the engine left all of that to
every child. One rehearsal, this file's one-task flow loaded and run as a
worker loads and runs a user's, makes those writes once, in the zygote,
where every child shares them: ~100 fewer pages copied and ~1 ms less CPU
for each forked run of a one-task flow (bench/daemon_rates.py).

What it sets up is undone: its module, the sink, the logging (a worker sets
its own from its run's level), the import path and the environment.
`ORC_NO_REHEARSAL=1` leaves it out, for measuring.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from orchestrate import flow, task
from orchestrate.core.record_codec import encode_records
from orchestrate.core.runs import new_id

#: Runs made: a function is quickened on its eighth call.
TIMES = 10


@task
def rehearsal_step(i: int) -> int:
    return i


@flow
def rehearsal(i: int = 0) -> int:
    return rehearsal_step(i)


def rehearse(times: int = TIMES) -> bool:
    """Load and run this file's flow `times` times as a worker would, then undo what that set
    up; False if it failed (reported on stderr: it costs the zygote's children speed only)."""
    try:
        with _left_as_found():
            for i in range(times):
                _run_once(i)
    except Exception as exc:
        print(f"orc zygote: the rehearsal failed ({exc!r}); workers start slower", file=sys.stderr)
        return False
    return True


@contextmanager
def _left_as_found() -> Iterator[None]:
    """Undo on the way out what a run sets up in a process: the sink, the run's module, the
    import path, the environment, and the logging (configured once per process, by its run)."""
    from orchestrate.engine import logs
    from orchestrate.recording import set_sink

    orc_logger = logging.getLogger(logs.ROOT_LOGGER)
    handlers, level, configured = list(orc_logger.handlers), orc_logger.level, logs._configured
    modules, path, environ = set(sys.modules), list(sys.path), dict(os.environ)
    os.environ.update(ORC_LOGGING_TO_CONSOLE="0", ORC_LOGGING_LEVEL="INFO")  # as a worker's
    previous = set_sink(None)
    try:
        yield
    finally:
        set_sink(previous)
        for name in set(sys.modules) - modules:
            if name.startswith("orc_entrypoint_"):
                del sys.modules[name]
        sys.path[:] = path
        for key in set(os.environ) - set(environ):
            del os.environ[key]
        os.environ.update(environ)
        orc_logger.handlers[:] = handlers
        orc_logger.setLevel(level)
        logs._configured = configured


def _run_once(i: int) -> None:
    from orchestrate.recording import KeptSink, set_sink
    from orchestrate.worker.run import Stopper, _load, execute
    from orchestrate.worker.spec import RunSpec

    spec = RunSpec.from_dict(_spec(i))
    sink = KeptSink()
    set_sink(sink)
    flow_obj, parameters = _load(spec)
    execute(spec, flow_obj, parameters, Stopper())
    json.dumps(encode_records(sink.records), separators=(",", ":"), default=repr)


def _spec(i: int) -> dict[str, Any]:
    return {
        "flow_run_id": new_id(),  # not `uuid`, which would load `platform` into every zygote
        "deployment": "rehearsal",
        "entrypoint": f"{os.path.basename(__file__)}:rehearsal",
        "project_root": os.path.dirname(os.path.abspath(__file__)),
        "parameters": {"i": i},
        "pending_recorded": True,
    }


__all__ = ["TIMES", "rehearse"]
