"""How long to wait before retry N: fixed, per-attempt list, callable, and jitter."""

from __future__ import annotations

import math
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
    """A random interval near `average`, within [lower, (1 + clamping_factor) * average].

    Prefect's retry jitter: an exponential draw truncated by inverse CDF, its
    lower bound chosen so the mean stays at `average`. Retries of many runs
    spread out without drifting far from the configured delay.
    """
    if clamping_factor < 0:
        raise ValueError("retry_jitter_factor must be 0 or more")
    if average <= 0:
        return 0.0
    upper = average * (1 + clamping_factor)
    lower = max(0.0, average * _lower_clamp_multiple(1 + clamping_factor))
    low_rv, high_rv = _exponential_cdf(lower, average), _exponential_cdf(upper, average)
    draw = (rng or random).uniform(low_rv, high_rv)
    return -math.log(max(1 - draw, 1e-10)) * average


def _exponential_cdf(x: float, average: float) -> float:
    return 1 - math.exp(-x / average)


def _lower_clamp_multiple(k: float) -> float:
    """The lower bound, as a multiple of the mean, that keeps the truncated mean unchanged."""
    if k >= 50:
        return 0.0
    return math.log(max(2**k / (2**k - 1), 1e-10), 2)


def exponential_backoff(backoff_factor: float) -> Callable[[int], list[float]]:
    """Delays of `backoff_factor * 2**n` for retry n (Prefect's `exponential_backoff`).

    Args:
        backoff_factor: the first delay, in seconds; each next one doubles.
    """

    def delays(retries: int) -> list[float]:
        return [backoff_factor * 2**n for n in range(retries)]

    return delays
