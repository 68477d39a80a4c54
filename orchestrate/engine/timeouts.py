"""Interrupting a synchronous body that runs past its timeout.

In the main thread a SIGALRM timer raises inside the body (it also breaks out
of `time.sleep` and blocking I/O). Elsewhere the exception is sent to the
thread between bytecodes, which is what Python allows. Scopes nest: the alarm
is always armed for the nearest deadline, and each scope only catches its own
expiry, so a flow timeout still fires through a task's timeout scope.
"""

from __future__ import annotations

import ctypes
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from orchestrate.core.errors import RunTimeout


class _Expired(BaseException):
    """Raised into a body whose scope ran out; BaseException so user code rarely swallows it.

    Each scope raises its own subclass, so an outer scope's expiry passes through inner ones.
    """


_Scope = type[_Expired]
_deadlines: list[tuple[float, _Scope]] = []  # main-thread scopes


def _arm() -> None:
    if not _deadlines:
        signal.setitimer(signal.ITIMER_REAL, 0)
        return
    deadline, _ = min(_deadlines, key=lambda item: item[0])
    signal.setitimer(signal.ITIMER_REAL, max(deadline - time.monotonic(), 1e-4))


def _on_alarm(signum: int, frame: object) -> None:
    now = time.monotonic()
    expired = [scope for deadline, scope in _deadlines if deadline <= now]
    if expired:
        raise expired[0]()
    _arm()


@contextmanager
def timeout_scope(seconds: float | None, error: type[RunTimeout] = RunTimeout) -> Iterator[None]:
    """Raise `error` (a `RunTimeout`) in this block if it is still running after `seconds`."""
    if seconds is None:
        yield
        return
    scope: _Scope = type("TimeoutScope", (_Expired,), {})
    in_main = threading.current_thread() is threading.main_thread()
    try:
        with _main_thread_timer(scope, seconds) if in_main else _thread_timer(scope, seconds):
            yield
    except scope:
        raise error.after(seconds) from None


@contextmanager
def _main_thread_timer(scope: _Scope, seconds: float) -> Iterator[None]:
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    entry = (time.monotonic() + seconds, scope)
    _deadlines.append(entry)
    _arm()
    try:
        yield
    finally:
        _deadlines.remove(entry)
        _arm()
        if not _deadlines:
            signal.signal(signal.SIGALRM, previous)


@contextmanager
def _thread_timer(scope: _Scope, seconds: float) -> Iterator[None]:
    thread_id = ctypes.c_ulong(threading.get_ident())
    lock = threading.Lock()
    finished = False

    def expire() -> None:
        with lock:
            if not finished:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(thread_id, ctypes.py_object(scope))

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with lock:
            finished = True
            # An expiry that raced with a normal exit must not fire later, elsewhere.
            ctypes.pythonapi.PyThreadState_SetAsyncExc(thread_id, None)


__all__ = ["RunTimeout", "timeout_scope"]
