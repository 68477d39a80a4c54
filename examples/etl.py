"""An ETL-style flow: a flaky extract with retries, a cached transform, a load.

Run it ad hoc with `orc flow run examples/etl.py:nightly -p days=2`.
"""

from __future__ import annotations

import random
from datetime import timedelta

from orchestrate import flow, get_run_logger, task
from orchestrate.cache_policies import INPUTS
from orchestrate.tasks import exponential_backoff


@task(retries=3, retry_delay_seconds=exponential_backoff(0.5), retry_jitter_factor=0.2)
def extract(day: int) -> list[dict[str, int]]:
    """Reads one day of orders from a source that sometimes times out."""
    if random.random() < 0.3:
        raise ConnectionError(f"source timed out reading day {day}")
    return [{"day": day, "order": n, "amount": (day * 7 + n * 13) % 100} for n in range(50)]


@task(cache_policy=INPUTS, cache_expiration=timedelta(hours=12))
def transform(rows: list[dict[str, int]]) -> dict[str, int]:
    """Totals a day's orders; cached, so re-running the same day is free."""
    return {"orders": len(rows), "revenue": sum(r["amount"] for r in rows)}


@task
def load(totals: list[dict[str, int]]) -> int:
    revenue = sum(t["revenue"] for t in totals)
    get_run_logger().info("loaded %d days, revenue %d", len(totals), revenue)
    return revenue


@flow(retries=1, retry_delay_seconds=1)
def nightly(days: int = 1) -> int:
    """Extracts, transforms and loads the last `days` days of orders."""
    totals = [transform(extract(day)) for day in range(days)]
    return load(totals)


@flow
def cleanup(run: str | None = None) -> str:
    """Tidies up after a failed nightly run (the id of the run, if known)."""
    get_run_logger().info("cleaning up after %s", run or "a failed run")
    return "clean"


if __name__ == "__main__":
    nightly(days=3)
