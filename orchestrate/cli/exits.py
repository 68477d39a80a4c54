"""Exit codes, and the one place an `OrcError` becomes a message on stderr."""

from __future__ import annotations

import sys

from orchestrate.core.errors import (
    BadInput,
    ClientError,
    Conflict,
    DaemonError,
    EntrypointError,
    NoSuchProject,
    NotFound,
    OrcError,
    ParameterError,
    QueryError,
    RemoteError,
    RunNotFound,
    StoreError,
)

OK = 0
RUN_NOT_COMPLETED = 1
BAD_INPUT = 2
NOT_FOUND = 3
STORE_ERROR = 4
NO_DAEMON = 5
#: A command stopped with Ctrl-C, as a shell gives one that SIGINT ended.
INTERRUPTED = 130

EPILOG = (
    "Exit codes: 0 success; 1 the flow run ended in a state other than Completed; "
    "2 bad input (a bad argument or option value, -p, --params, --payload, parameter or "
    "entrypoint; the daemon refusing a value it was sent or a request the run's state does "
    "not allow, such as retrying a Completed run); 3 not found (unknown run id); "
    "4 store error (the .orc/orc.duckdb file cannot be read or written); "
    "5 daemon trouble (no `orc up` running, one already running, or it cannot be reached). "
    "`orc run --watch` exits 0 Completed, 1 Failed/Crashed, 2 Cancelled; Ctrl-C exits 130."
)


_BAD_INPUT = (EntrypointError, ParameterError, BadInput, QueryError, NoSuchProject)


def exit_code_for(error: OrcError) -> int:
    """The exit code that tells scripts which kind of trouble `error` is."""
    if isinstance(error, _BAD_INPUT) or _is_config(error):
        return BAD_INPUT
    if isinstance(error, RunNotFound | NotFound):
        return NOT_FOUND
    if isinstance(error, Conflict):
        return BAD_INPUT  # a refused request (retry of a Completed run), not a run's outcome
    if isinstance(error, RemoteError):
        return RUN_NOT_COMPLETED
    if isinstance(error, ClientError | DaemonError):
        return NO_DAEMON
    if isinstance(error, StoreError):
        return STORE_ERROR
    return RUN_NOT_COMPLETED


def _is_config(error: OrcError) -> bool:
    """A flows.toml error, known without loading the config package (and pydantic)."""
    config = sys.modules.get("orchestrate.config.issues")
    return config is not None and isinstance(error, config.ConfigError)


def report(error: OrcError) -> int:
    """Print `error` for a person on stderr; return the exit code to leave with."""
    print(f"Error: {error}", file=sys.stderr)
    return exit_code_for(error)
