"""Run logs: `get_run_logger()`, capture into the run's records, console output, `log_prints`.

Records carry the run ids as `extra` attributes; one handler on the `orc`
logger turns them into `LogRecord`s for the sink, another prints them on
stderr the way Prefect users are used to. `print` is wrapped once, the first
time a run asks for `log_prints`, and logs only while such a run is current.
"""

from __future__ import annotations

import builtins
import logging
import os
import sys
from contextvars import ContextVar, Token
from typing import Any

from orchestrate.core import secrets
from orchestrate.core.records import LogRecord
from orchestrate.engine.context import runner_gate
from orchestrate.recording import get_sink

ROOT_LOGGER = "orc"
_configured = False


class RunLogger(logging.LoggerAdapter):
    """A logger bound to one flow run (and task run); its lines are kept with the run."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        extra = kwargs.get("extra")
        kwargs["extra"] = {**self.extra, **extra} if extra else self.extra  # type: ignore[dict-item]
        return msg, kwargs


class RunRecordHandler(logging.Handler):
    """Sends every log line of a run to the process's sink."""

    def emit(self, record: logging.LogRecord) -> None:
        flow_run_id = getattr(record, "orc_flow_run_id", None)
        if flow_run_id is None:
            return
        gate = runner_gate.get()
        if gate is not None and gate.shut:  # a thread its flow run gave up on (`record_gate`)
            return
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            message = f"{message}\n{logging.Formatter().formatException(record.exc_info)}"
        get_sink().put(
            LogRecord(
                flow_run_id,
                getattr(record, "orc_task_run_id", None),
                record.created,
                record.levelno,
                record.name,
                message,
            )
        )


class ConsoleFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s.%(msecs)03d | %(levelname)-7s | %(orc_label)s%(message)s", "%H:%M:%S"
        )

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "orc_label"):
            record.orc_label = ""
        return secrets.current().text(super().format(record))


def configure() -> None:
    """Attach orc's handlers once per process (level: `ORC_LOGGING_LEVEL`, default INFO)."""
    global _configured
    if _configured:
        return
    _configured = True
    logger = logging.getLogger(ROOT_LOGGER)
    logger.setLevel(os.environ.get("ORC_LOGGING_LEVEL", "INFO").upper())
    logger.propagate = False
    logger.addHandler(RunRecordHandler())
    if os.environ.get("ORC_LOGGING_TO_CONSOLE", "1") != "0":
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(ConsoleFormatter())
        logger.addHandler(console)


def hook_name(hook: Any) -> str:
    """A hook's name in log lines (Prefect's: a partial by its function, an object by its class)."""
    name = getattr(hook, "__name__", None) or getattr(getattr(hook, "func", None), "__name__", None)
    return name or type(hook).__name__


def log_hook_failure(logger: RunLogger, hook: Any, exc: BaseException) -> None:
    """A state hook that raised is reported with the run (as Prefect words it); the run's state stays."""
    logger.error(
        "An error was encountered while running hook %r",
        hook_name(hook),
        exc_info=(type(exc), exc, exc.__traceback__),
    )


def flow_run_logger(flow_run_id: str, run_name: str) -> RunLogger:
    return RunLogger(
        logging.getLogger("orc.flow_runs"),
        {"orc_flow_run_id": flow_run_id, "orc_label": f"Flow run {run_name!r} - "},
    )


def task_run_logger(flow_run_id: str, task_run_id: str, run_name: str) -> RunLogger:
    return RunLogger(
        logging.getLogger("orc.task_runs"),
        {
            "orc_flow_run_id": flow_run_id,
            "orc_task_run_id": task_run_id,
            "orc_label": f"Task run {run_name!r} - ",
        },
    )


# --- log_prints ---------------------------------------------------------------

print_target: ContextVar[RunLogger | None] = ContextVar("orc_print_target", default=None)
_original_print = builtins.print


def _print(
    *args: Any, sep: str | None = " ", end: str | None = "\n", file: Any = None, flush: bool = False
) -> None:
    logger = print_target.get()
    if logger is None or (file is not None and file is not sys.stdout and file is not sys.stderr):
        _original_print(*args, sep=sep, end=end, file=file, flush=flush)
        return
    logger.info((sep if sep is not None else " ").join(map(str, args)))


def prints_to(logger: RunLogger, log_prints: bool) -> Token[RunLogger | None] | None:
    """Point `print` at a run's `logger` if the run logs its prints, else away from any
    enclosing run's (a task with `log_prints=False` in a flow that logs them prints as
    usual); the token to reset, or None where nothing changed."""
    if log_prints:
        return print_target.set(logger)
    return print_target.set(None) if print_target.get() is not None else None


def capture_prints() -> None:
    """Route `print` of runs with `log_prints=True` to their run logger (idempotent)."""
    if builtins.print is not _print:
        builtins.print = _print
