"""'Kapan truk datang?': when the truck reaches a resident's spot along its route.

Pure. A spot near a route that drives its street twice has two measures along the route;
the truck serves it at whichever pass comes first from where the truck is now. The
estimate divides the distance along the route by the truck's recent average speed along
it, stops included, which is what a resident waits through.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Eta", "estimate", "DEFAULT_SPEED_MPS"]

#: Average progress of a collecting truck, stops included (~11 km/h), when unknown.
DEFAULT_SPEED_MPS = 3.0
#: A spot this close behind the truck along the route counts as reached.
REACHED_M = 20.0


@dataclass(frozen=True, slots=True)
class Eta:
    passed: bool
    target_m: float | None
    seconds: float | None


def _covered(m: float, intervals: Sequence[Sequence[float]]) -> bool:
    return any(a - REACHED_M <= m <= b + REACHED_M for a, b in intervals)


def estimate(
    spot_m: Sequence[float],
    driven: Sequence[Sequence[float]],
    truck_m: float | None,
    speed_mps: float | None,
) -> Eta:
    """``spot_m``: the spot's measures along the route (one per pass); ``driven``: the
    stretches driven today; ``truck_m``: where the truck is now, if it is out."""
    if not spot_m:
        return Eta(False, None, None)
    if any(_covered(m, driven) for m in spot_m):
        return Eta(True, min(m for m in spot_m if _covered(m, driven)), 0.0)
    if truck_m is None:
        return Eta(False, min(spot_m), None)
    ahead = [m for m in spot_m if m >= truck_m - REACHED_M]
    if not ahead:
        return Eta(True, max(spot_m), 0.0)
    target = min(ahead)
    speed = speed_mps if speed_mps and speed_mps > 0.3 else DEFAULT_SPEED_MPS
    return Eta(False, target, max(0.0, target - truck_m) / speed)
