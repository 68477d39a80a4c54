"""A fan-out flow: one task run per item with .map(), then a reduce over the futures."""

from __future__ import annotations

import time

from orchestrate import flow, task, unmapped


@task
def score(item: int, weight: float) -> float:
    time.sleep(0.01)  # stands in for an API call
    return item * weight


@task
def total(scores: list[float]) -> float:
    return sum(scores)


@flow(log_prints=True)
def fan_out(n: int = 20, weight: float = 1.5) -> float:
    scores = score.map(range(n), unmapped(weight))
    result = total(scores)
    print(f"{n} items scored, total {result}")
    return result


if __name__ == "__main__":
    fan_out()
