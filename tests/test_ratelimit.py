"""Per-device token buckets (fleet/ratelimit.py)."""

from __future__ import annotations

from fleet.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_sustained_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(rate_per_s=2.0, burst=3, clock=clock)
    assert [limiter.allow("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.allow("a") == 0.5
    clock.now += 0.5
    assert limiter.allow("a") == 0.0
    assert limiter.allow("b") == 0.0


def test_waiting_spends_nothing() -> None:
    clock = Clock()
    limiter = RateLimiter(rate_per_s=1.0, burst=1, clock=clock)
    assert limiter.waiting("a") == 0.0
    assert limiter.waiting("a") == 0.0
    assert limiter.allow("a") == 0.0
    assert limiter.waiting("a") == 1.0
