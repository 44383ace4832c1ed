"""Which stretches of a route were driven: measure intervals along the route, merged.

Pure: the pipeline adds the stretch between two consecutive on-route fixes; the map
draws the merged intervals as "driven", the report sums them as km done.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["add_stretch", "driven_m", "plausible_stretch"]

Interval = tuple[float, float]

#: Gaps shorter than this between driven stretches are closed (GPS jitter at joins).
JOIN_M = 15.0


def add_stretch(
    intervals: Sequence[Sequence[float]], from_m: float, to_m: float, join_m: float = JOIN_M
) -> list[list[float]]:
    """Merge [from_m, to_m] into sorted, disjoint intervals; returns a new list."""
    lo, hi = min(from_m, to_m), max(from_m, to_m)
    merged: list[list[float]] = []
    for a, b in sorted((float(a), float(b)) for a, b in intervals):
        if b + join_m < lo or a - join_m > hi:
            merged.append([a, b])
        else:
            lo, hi = min(lo, a), max(hi, b)
    merged.append([lo, hi])
    merged.sort()
    return merged


def driven_m(intervals: Sequence[Sequence[float]]) -> float:
    return float(sum(b - a for a, b in intervals))


def plausible_stretch(
    p0_m: float, p1_m: float, dt_s: float, max_speed_mps: float = 25.0, max_gap_s: float = 120.0
) -> bool:
    """Whether the truck really drove from p0 to p1: forward, in time, at truck speed."""
    if not 0.0 < dt_s <= max_gap_s:
        return False
    step = p1_m - p0_m
    return -5.0 <= step <= max_speed_mps * dt_s + 30.0
