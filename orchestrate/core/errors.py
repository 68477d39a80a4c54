"""Every error orc raises on purpose, rooted at one class.

User-facing messages say what was attempted, on what (file:line, field, run
id), and what to do next. The CLI renders them in one place.

    OrcError
    ├── EntrypointError          a "path.py:function" that cannot be loaded
    ├── ParameterError           a flow parameter or `-p` value that is not valid
    │   ├── ParameterTypeError   (Prefect's name) a value of the wrong type
    │   └── MappingError         `.map()` arguments that cannot be mapped
    │       ├── MappingMissingIterable
    │       └── MappingLengthMismatch
    ├── InvalidStateTransition   a state move the transition table forbids
    ├── RunNotFound              an unknown or ambiguous run id
    ├── StoreError               the DuckDB store cannot be opened or written
    ├── QueryError               a SQL query (`orc sql`) refused as not read-only, invalid, or too slow
    ├── DaemonError              `orc up` cannot start or do what was asked
    │   └── DaemonAlreadyRunning another `orc up` holds this project
    ├── ClientError              talking to a daemon failed (`orchestrate.client`)
    │   ├── DaemonNotRunning     no daemon answers on the project's socket
    │   ├── DaemonTimeout        the daemon did not answer in time
    │   ├── ConnectionLost       the daemon closed the connection mid-conversation
    │   ├── ProtocolMismatch     client and daemon speak different protocol versions
    │   ├── SshError             `ssh host orc dial-stdio` failed: ssh's own message, or no orc there
    │   └── RemoteError          the daemon refused a request (its JSON-RPC code and message)
    │       ├── NotFound         an unknown deployment, run or automation
    │       ├── BadInput         parameters or values that do not validate
    │       └── Conflict         what the current state does not allow (cancel a finished run)
    ├── MissingResult            a result that was not kept or cannot be read
    ├── AutomationError          an automation that cannot be loaded, found or carried out
    │   ├── AutomationNotFound   an unknown automation name
    │   └── ActionFailed         an action that did not do what it says (its outcome event tells why)
    └── RunError                 raised by `State.result()` for a run that did not complete
        ├── FailedRun
        ├── CrashedRun
        ├── CancelledRun
        ├── PausedRun
        ├── FlowPauseTimeout     (Prefect's name) a paused flow run was not resumed in time
        ├── NotPausedError       (Prefect's name) a resume of a run that is not paused
        └── UnfinishedRun
            ├── UpstreamTaskError   a task did not run (NotReady) because an upstream one failed
            └── ResultTimeout       `future.result(timeout=)` ran out (also a TimeoutError)

Timeouts of a run's body are `TimeoutError`s as in Prefect, outside the tree:

    TimeoutError
    └── RunTimeout               a body ran past its `timeout_seconds` (orc's name)
        ├── TaskRunTimeoutError  (Prefect's name, `prefect.task_engine`)
        └── FlowRunTimeoutError  (Prefect's name, `prefect.flow_engine`)

A signal from outside is a `BaseException`, so a body's `except Exception` lets it pass:

    BaseException
    └── TerminationSignal        (Prefect's name) SIGTERM reached a flow run called from plain Python
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self


class OrcError(Exception):
    """Root of every error orc raises on purpose."""


class EntrypointError(OrcError):
    """A flow entrypoint (`path.py:function`) could not be loaded."""


class ParameterError(OrcError):
    """A parameter value is not valid for the flow that receives it."""


class ParameterTypeError(ParameterError):
    """A parameter value has the wrong type (Prefect's name for it)."""

    @classmethod
    def from_validation_error(cls, exc: Any) -> Self:
        """Prefect's message for a pydantic `ValidationError`: one line per bad field."""
        bad = [f"{'.'.join(str(i) for i in err['loc'])}: {err['msg']}" for err in exc.errors()]
        return cls("Flow run received invalid parameters:\n - " + "\n - ".join(bad))


class ParameterBindError(ParameterTypeError, TypeError):
    """Arguments that do not fit the flow's signature: a `TypeError`, as in Prefect."""

    @classmethod
    def from_bind_failure(
        cls,
        fn: Callable[..., Any],
        exc: TypeError,
        call_args: tuple[Any, ...],
        call_kwargs: dict[str, Any],
    ) -> Self:
        """Prefect's message for arguments that do not fit `fn`'s signature."""
        import inspect  # only when this error is built: importing errors stays cheap

        signature = str(inspect.signature(fn)).strip("()")
        return cls(
            f"Error binding parameters for function '{fn.__name__}': {exc}.\n"
            f"Function '{fn.__name__}' has signature '{signature}' but received "
            f"args: {call_args} and kwargs: {list(call_kwargs.keys())}."
        )


class MissingContextError(OrcError, RuntimeError):
    """Asked for the run in progress (its logger, its context) outside of any flow or task run."""


class MappingError(ParameterError, ValueError):
    """`.map()` was given arguments it cannot map over."""


class MappingMissingIterable(MappingError):
    """`.map()` got no iterable argument."""


class MappingLengthMismatch(MappingError):
    """`.map()` got iterables of different lengths."""


class InvalidStateTransition(OrcError):
    """A run was asked to move between two states the rules forbid."""


class RunNotFound(OrcError):
    """No run, or more than one run, matches the id or prefix given."""


class NoSuchProject(OrcError):
    """`--project` (or `ORC_HOME`) names a folder that does not exist, or a file."""


class StoreError(OrcError):
    """The embedded store could not be opened, migrated or written."""


class QueryError(OrcError):
    """A user's SQL query that is not read-only, does not run, or ran past its timeout."""


class DaemonError(OrcError):
    """`orc up` cannot start, or cannot do what a client asked."""


class DaemonAlreadyRunning(DaemonError):
    """Another `orc up` holds this project (its pid is in the message)."""


class MissingResult(OrcError):
    """A result was asked for that was not kept or cannot be read back."""


class RunError(OrcError):
    """A run did not complete, so it has no result to give."""


class FailedRun(RunError):
    """The run ended Failed."""


class CrashedRun(RunError):
    """The run ended Crashed: its process died or was interrupted."""


class CancelledRun(RunError):
    """The run was cancelled."""


class PausedRun(RunError):
    """The run is paused: it has no result until it resumes."""

    def __init__(self, *args: object, state: Any = None) -> None:
        super().__init__(*args)
        self.state = state


class FlowPauseTimeout(RunError):
    """A paused flow run was not resumed within its pause timeout (the run ends Failed)."""


class NotPausedError(RunError):
    """A resume was asked of a flow run that is not paused."""


class UnfinishedRun(RunError):
    """The run has not reached a final state yet."""


class UpstreamTaskError(UnfinishedRun):
    """A task was not run because a task it depends on did not complete."""


class ResultTimeout(UnfinishedRun, TimeoutError):
    """A result was waited for longer than the timeout given; the run itself goes on."""


class RunTimeout(TimeoutError):
    """A run's body ran past its `timeout_seconds`, given as `seconds` (the run ends TimedOut)."""

    def __init__(self, message: str = "", seconds: float | None = None) -> None:
        super().__init__(message)
        self.seconds = seconds

    @classmethod
    def after(cls, seconds: float) -> Self:
        """Prefect's message for a scope that ran out."""
        return cls(f"Scope timed out after {float(seconds)} second(s).", float(seconds))

    def __reduce__(self) -> tuple[Any, ...]:  # keeps `seconds` when it travels (Dask)
        return (type(self), (str(self), self.seconds))


class TerminationSignal(BaseException):
    """SIGTERM reached a flow run called from plain Python: the run ends Crashed (Prefect's name)."""

    def __init__(self, signal: int) -> None:
        super().__init__(f"signal {signal}")
        self.signal = signal

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.signal,))


class TaskRunTimeoutError(RunTimeout):
    """A task run's body ran past its `timeout_seconds` (Prefect's name)."""


class FlowRunTimeoutError(RunTimeout):
    """A flow run's body ran past its `timeout_seconds` (Prefect's name)."""


class ClientError(OrcError):
    """Talking to an orc daemon failed; the message says which daemon and what to do."""


class DaemonNotRunning(ClientError):
    """No daemon answers on the project's socket (none was started, or it stopped)."""

    def __init__(self, root: object, host: str | None = None) -> None:
        where, there = (f"{root} on {host}", " there") if host else (str(root), "")
        super().__init__(f"no orc daemon is running for {where}; start it{there} with `orc up`")
        self.root = str(root)
        self.host = host


class DaemonTimeout(ClientError, TimeoutError):
    """The daemon did not answer a request within the client's timeout."""


class ConnectionLost(ClientError):
    """The daemon closed the connection (it stopped, or dropped a client that fell behind)."""


class ProtocolMismatch(ClientError):
    """The client and the daemon speak different versions of the wire protocol."""


class SshError(ClientError):
    """`ssh host orc dial-stdio` failed: ssh could not connect, or orc is missing there."""


class RemoteError(ClientError):
    """The daemon answered a request with a JSON-RPC error."""

    def __init__(self, code: int, message: str, data: object = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


class NotFound(RemoteError):
    """The daemon knows no deployment, run or automation by that name or id."""


class BadInput(RemoteError):
    """The daemon refused parameters or values that do not validate."""


class Conflict(RemoteError):
    """The daemon refused a request the current state does not allow."""


class AutomationError(OrcError):
    """An automation could not be loaded, found, or carried out."""


class AutomationNotFound(AutomationError):
    """No automation has the name given."""


class ActionFailed(AutomationError):
    """An automation's action did not complete; the message goes into its outcome event.

    `details` (an exit code, an HTTP status) go into the event's payload too.
    """

    def __init__(self, message: str, details: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.details = details or {}
