"""An async flow: awaited and gathered async tasks run concurrently on one event loop."""

from __future__ import annotations

import asyncio

from orchestrate import flow, get_run_logger, task


@task(retries=2, retry_delay_seconds=0.2)
async def fetch(endpoint: str) -> dict[str, str]:
    await asyncio.sleep(0.1)  # stands in for an HTTP call
    return {"endpoint": endpoint, "status": "ok"}


@flow
async def poll_endpoints(endpoints: list[str] | None = None) -> int:
    endpoints = endpoints or ["users", "orders", "invoices", "stock"]
    results = await asyncio.gather(*[fetch(e) for e in endpoints])
    get_run_logger().info("polled %d endpoints", len(results))
    return len(results)


if __name__ == "__main__":
    asyncio.run(poll_endpoints())
