"""Score matched points against the truth, the same way for every matcher.

A matcher here is anything that puts each fix somewhere on the streets: ours and the
naive baseline on the planned route, Valhalla and OSRM on the whole street graph. So
the score looks only at the matched point, in UTM 51S metres: it is on the right
street edge if it lies within ``on_edge_m`` of the edge the truck was truly on, and
its position error is its distance from the truck's true position. Fixes taken while
the truck was truly off its route (the detour) have no true edge and are left out;
a fix the matcher left unmatched counts as not on the right edge and has no error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from tracks import SimRoute, Streets, Trace

__all__ = ["ON_EDGE_M", "Score", "Tally", "edge_lines", "score_points"]

FloatArray = npt.NDArray[np.float64]

# A few metres: engines round coordinates (OSRM to 1e-6 degree) and a point at a
# corner is as much on the next street as on this one.
ON_EDGE_M = 3.0


@dataclass(frozen=True)
class Score:
    """Per scored fix of one trace: matched at all, on the true edge, error in metres."""

    matched: npt.NDArray[np.bool_]
    on_edge: npt.NDArray[np.bool_]
    error_m: FloatArray


@dataclass(frozen=True)
class Tally:
    """One matcher on one condition: its scores over all traces and its time spent."""

    scores: tuple[Score, ...]
    fixes: int
    match_s: float

    def summary(self) -> dict[str, float]:
        """Matched and right-edge shares (%, the latter of all and of matched fixes), error
        median and p95 (m), fixes per second."""
        matched = np.concatenate([s.matched for s in self.scores])
        on_edge = np.concatenate([s.on_edge for s in self.scores])
        err = np.concatenate([s.error_m for s in self.scores])
        err = err[~np.isnan(err)]
        has_err = len(err) > 0
        return {
            "matched_pct": 100.0 * float(matched.mean()),
            "right_edge_pct": 100.0 * float(on_edge.mean()),
            "right_of_matched_pct": 100.0 * float(on_edge.sum() / max(matched.sum(), 1)),
            "err_median_m": float(np.median(err)) if has_err else float("nan"),
            "err_p95_m": float(np.percentile(err, 95)) if has_err else float("nan"),
            "fixes_per_s": self.fixes / self.match_s if self.match_s > 0 else float("nan"),
        }


def edge_lines(streets: Streets) -> npt.NDArray[np.object_]:
    """Metric LineString of every street edge, indexed by edge number."""
    lines = np.empty(len(streets.edges), dtype=object)
    for edge, n in streets.edges.items():
        a, b = sorted(edge)
        lines[n] = shapely.LineString(streets.xy[[a, b]])
    return lines


def score_points(
    x: FloatArray, y: FloatArray, route: SimRoute, trace: Trace, lines: npt.NDArray[np.object_]
) -> Score:
    """Score matched metric points (NaN where unmatched) of one trace, fix by fix."""
    keep = ~trace.true_off
    x, y = x[keep], y[keep]
    matched = ~(np.isnan(x) | np.isnan(y))
    true_edge = route.edge_at(trace.true_progress_m[keep])
    pts = shapely.points(np.where(matched, x, 0.0), np.where(matched, y, 0.0))
    on_edge = matched & (shapely.distance(pts, lines[true_edge]) <= ON_EDGE_M)
    err = np.hypot(x - trace.true_x[keep], y - trace.true_y[keep])
    return Score(matched, on_edge, err)
