"""A report that fails now and then, to show deployment retries (`retries` in flows.toml)."""

from __future__ import annotations

import random

from orchestrate import flow, get_run_logger, task


@task
def fetch_report(day: str) -> dict[str, int]:
    if random.random() < 0.4:
        raise RuntimeError(f"the report API answered 503 for {day}")
    return {"visits": random.randint(900, 1100), "signups": random.randint(10, 30)}


@flow
def flaky_report(day: str = "today") -> dict[str, int]:
    """Fetches a daily report; about 4 runs in 10 fail and are retried by the daemon."""
    report = fetch_report(day)
    get_run_logger().info("report for %s: %s", day, report)
    return report
