"""How long to wait before retry N: fixed, per-attempt list, callable, and jitter."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

RetryDelay = float | int | Sequence[float | int] | Callable[[int], Sequence[float | int]]


def retry_delays(delay: RetryDelay | None, retries: int) -> list[float]:
    """The delay before each of `retries` retries.

    A number applies to every retry; a list gives one delay per retry, its last
    value repeating; a callable (like `exponential_backoff(10)`) is given the
    number of retries and returns such a list.
    """
    if retries <= 0:
        return []
    if delay is None:
        return [0.0] * retries
    if callable(delay):
        delay = delay(retries)
    if isinstance(delay, int | float):
        return [float(delay)] * retries
    values = [float(d) for d in delay] or [0.0]
    return [values[min(i, len(values) - 1)] for i in range(retries)]


def clamped_poisson_interval(
    average: float, clamping_factor: float = 0.3, rng: random.Random | None = None
) -> float:
    """A random interval around `average`, within ±`clamping_factor` of it (Prefect's jitter).

    Draws from an exponential distribution with that mean, as Prefect does,
    and clamps it so retries of many runs spread out without ever drifting far.
    """
    if average <= 0:
        return 0.0
    if clamping_factor < 0:
        raise ValueError("retry_jitter_factor must be 0 or more")
    draw = (rng or random).expovariate(1.0 / average)
    lower, upper = max(0.0, average * (1 - clamping_factor)), average * (1 + clamping_factor)
    return min(max(draw, lower), upper)


def exponential_backoff(backoff_factor: float) -> Callable[[int], list[float]]:
    """Delays of `backoff_factor * 2**n` for retry n (Prefect's `exponential_backoff`).

    Args:
        backoff_factor: the first delay, in seconds; each next one doubles.
    """

    def delays(retries: int) -> list[float]:
        return [backoff_factor * 2**n for n in range(retries)]

    return delays
