"""Running one flows.toml input the way orc would: load it, and if it loads, plan and show it.

An input passes when `load_config` either succeeds or raises `ConfigError`,
within `CPU_LIMIT` seconds of CPU time. A file that loads must also survive
what the daemon and `orc validate` do next with it (next run times,
fingerprints, the summary), so a value accepted by the checks but fatal
later counts as a failure too.
"""

from __future__ import annotations

import json
import shutil
import signal
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from orchestrate.cli import config_cmds
from orchestrate.config import ConfigError, ProjectConfig, load_config
from orchestrate.schedules import describe, next_times
from tests.fuzz.config_inputs import REPO

CPU_LIMIT = 2.0
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
FLOW_FILES = ("etl.py", "fanout.py", "hello.py")


class TooSlow(Exception):
    """Raised in the main thread when one input used more than `CPU_LIMIT` seconds of CPU."""


@dataclass
class Tally:
    """What a fuzz run tried and what went wrong, written out as JSON."""

    tried: dict[str, int] = field(default_factory=dict)
    loaded: int = 0
    refused: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"inputs_tried": sum(self.tried.values()), "per_generator": self.tried,
                "loaded": self.loaded, "refused_with_config_error": self.refused,
                "failures": len(self.failures), "failure_samples": self.failures[:50]}  # fmt: skip


def make_project(root: Path) -> Path:
    """A project folder with the example flows the seeds name; returns its flows.toml path."""
    (root / "examples").mkdir(parents=True, exist_ok=True)
    for name in FLOW_FILES:
        shutil.copy(REPO / "examples" / name, root / "examples" / name)
    return root / "flows.toml"


def run_one(path: Path, label: str, raw: bytes, tally: Tally, generator: str) -> None:
    """Write `raw` to `path`, load it, and record a failure if anything but success or ConfigError."""
    tally.tried[generator] = tally.tried.get(generator, 0) + 1
    path.write_bytes(raw)
    started = time.process_time()
    try:
        with _cpu_limit(CPU_LIMIT):
            try:
                config = load_config(path, environ={})
            except ConfigError as error:
                _check_error(error)
                tally.refused += 1
                return
            exercise(config)
            tally.loaded += 1
    except Exception as exc:
        spent = time.process_time() - started
        tally.failures.append({"generator": generator, "input": label[:300],
                               "error": f"{type(exc).__name__}: {str(exc)[:300]}",
                               "cpu_seconds": f"{spent:.2f}",
                               "traceback": "".join(traceback.format_exception(exc))[-2000:],
                               "bytes": raw[:400].decode("utf-8", "replace")})  # fmt: skip


def _check_error(error: ConfigError) -> None:
    """A refusal must name a place and not be the last-resort conversion of an unexpected error."""
    assert error.issues, "a ConfigError with no issue"
    if error.__cause__ is not None and "bug in orc" in str(error):
        raise AssertionError(f"unexpected error behind the refusal: {error}") from error.__cause__
    for issue in error.issues:
        assert issue.file and issue.line >= 1 and issue.column >= 1, issue
        assert "Traceback" not in issue.message and "\n" not in issue.message, issue


def exercise(config: ProjectConfig) -> None:
    """What the daemon and `orc validate` do with a loaded file: plan, fingerprint, summarise."""
    for deployment in config.deployments:
        deployment.fingerprint()
        deployment.schedule_infos()
        for schedule in deployment.schedules:
            next_times(schedule, NOW, 3, default_tz=deployment.timezone)
            describe(schedule, deployment.timezone)
    config_cmds._summary_lines(config, NOW)
    json.dumps(config_cmds._summary_json(config, NOW), default=str, allow_nan=False)


@contextmanager
def _cpu_limit(seconds: float) -> Iterator[None]:
    """Raise `TooSlow` if the block uses more than `seconds` of CPU (SIGVTALRM: pytest-timeout
    keeps SIGALRM for itself)."""

    def expire(signum: int, frame: object) -> None:
        raise TooSlow(f"more than {seconds:g} s of CPU")

    previous = signal.signal(signal.SIGVTALRM, expire)
    signal.setitimer(signal.ITIMER_VIRTUAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, previous)
