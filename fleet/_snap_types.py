"""The matcher's values: tuning, hypotheses, per-truck state and per-fix result.

Private home of the dataclasses that :mod:`fleet.snap` exports, so that the live
matcher and the batch matcher (:mod:`fleet._snap_trace`) share them without importing
each other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Hypothesis", "MatchState", "SnapConfig", "SnapResult", "state_at"]


@dataclass(frozen=True, slots=True)
class SnapConfig:
    """Matcher tuning; distances in metres, costs in nats (negative log-likelihood)."""

    sigma_m: float = 15.0
    min_sigma_m: float = 3.0
    off_route_m: float = 50.0
    gate_sigmas: float = 4.0
    max_gate_m: float = 200.0
    far_sigmas: float = 2.0
    off_after_fixes: int = 3
    #: Far fixes in a row after which the truck went elsewhere, not just noise: a
    #: near fix then lets every pass bid (``_snap_core.leg``).
    rejoin_after_fixes: int = 6
    on_after_fixes: int = 2
    max_speed_mps: float = 25.0
    accel_mps2: float = 3.0
    reach_slack_m: float = 20.0
    hold_cost: float = 4.0
    jump_cost: float = 10.0
    jump_cost_per_km: float = 2.0
    start_cost_per_km: float = 10.0
    prune_cost: float = 25.0
    merge_m: float = 15.0
    max_hypotheses: int = 4
    speed_sd_m: float = 0.5
    speed_sd_m_per_s: float = 0.5
    speed_sd_share: float = 0.05
    reverse_cost_per_m: float = 0.2
    reverse_tolerance_mps: float = 1.0
    #: Reported speeds below this are a standing truck's GPS jitter (a few tenths of a
    #: m/s, never negative, so never averaging out): taken as 0, else the filter
    #: integrates them into metres of creep through a junction during a bin stop.
    standstill_mps: float = 0.5
    #: A truck back on its route for less than this before it leaves again (crossing
    #: route streets on its way to a dump) is still on the same trip away: when it
    #: comes back, passes bid by their distance from where it first left.
    rejoin_memory_s: float = 120.0

    def __post_init__(self) -> None:
        if self.max_hypotheses < 1:
            raise ValueError("max_hypotheses must be at least 1")


@dataclass(frozen=True, slots=True)
class Hypothesis:
    """One way the truck may have got here: filtered progress, speed, and its score."""

    progress_m: float
    speed_mps: float
    score: float
    t_s: float
    updates: int
    held: bool = False


@dataclass(frozen=True, slots=True)
class MatchState:
    """What the matcher remembers about a truck between fixes (stored as JSON)."""

    t_s: float
    hypotheses: tuple[Hypothesis, ...]
    on_route: bool
    far_run: int = 0
    near_run: int = 0
    #: Progress where the truck last left its route, when it last came back, and when
    #: it last came back from a trip elsewhere (``_snap_core.excursion``).
    left_m: float | None = None
    back_t_s: float | None = None
    rejoined_t_s: float | None = None

    @property
    def trip(self) -> tuple[float | None, float | None, float | None]:
        """(left_m, back_t_s, rejoined_t_s)."""
        return self.left_m, self.back_t_s, self.rejoined_t_s

    @property
    def progress_m(self) -> float | None:
        return self.hypotheses[0].progress_m if self.hypotheses else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MatchState:
        hyps = tuple(Hypothesis(**h) for h in data["hypotheses"])
        return cls(**{**data, "hypotheses": hyps})


@dataclass(frozen=True, slots=True)
class SnapResult:
    """Where one fix puts the truck on its route."""

    route_id: str
    progress_m: float
    snap_lon: float
    snap_lat: float
    offset_m: float
    on_route: bool
    confidence: float


def state_at(progress_m: float, t_s: float, on_route: bool = True) -> MatchState:
    """A prior from an earlier snapped fix, to match a late fix against history."""
    return MatchState(t_s, (Hypothesis(progress_m, 0.0, 0.0, t_s, 1),), on_route)
