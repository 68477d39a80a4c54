"""How `orc up` writes its log: one handler on stderr, human lines or JSON Lines.

Every logger of the daemon sits under `orc` (`orc.daemon`, `orc.automations`,
…); the handler is on the root logger so that nothing escapes it: a library's
warning, a `warnings.warn`, or a logger still named after its module
(`orchestrate.…`) comes out in the same format. With `--log-format json`
every line on stderr is one JSON object, an exception's traceback included
as the `traceback` field, so journald, Loki or `jq` read the log whole.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from orchestrate.core import secrets

#: The daemon's logger tree; modules log to `orc.<area>`.
ROOT = "orc"

#: Loggers named after their module rather than under `orc`: held to the same level.
_MODULE_TREE = "orchestrate"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, message, and traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": record.created,
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[1] is not None:
            entry["traceback"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["traceback"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)


class _Masked(logging.Formatter):
    """Any formatter, with the project's secrets masked in the line it makes (traceback too)."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return secrets.current().text(self.inner.format(record))


def configure_logging(log_format: str, level: str = "INFO", log_file: Path | None = None) -> None:
    """Send every log record of this process to stderr in `log_format` ("human" or "json"),
    or to `log_file`, rotated, when the daemon runs detached."""
    handler: logging.Handler
    if log_file is None:
        handler = logging.StreamHandler(sys.stderr)
    else:
        from orchestrate.daemon.detach import RotatingLog

        handler = RotatingLog(log_file)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(levelname)-7s %(message)s",
                "%H:%M:%S" if log_file is None else "%Y-%m-%d %H:%M:%S",
            )
        )
    handler.setFormatter(_Masked(handler.formatter or logging.Formatter()))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)  # other libraries: only what needs attention
    for name in (ROOT, _MODULE_TREE):
        tree = logging.getLogger(name)
        tree.handlers.clear()
        tree.setLevel(level)
        tree.propagate = True
    logging.captureWarnings(True)  # `warnings.warn` becomes a record, not a bare stderr line
