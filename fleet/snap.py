"""Route-constrained matching: how far along its planned route a truck is.

Why this design. A truck is not free on the street graph: it follows one planned
LineString, so every hypothesis is a single number, the measure ``progress_m`` along
that line, and the "route distance" between two hypotheses that Newson & Krumm (2009)
compute with a shortest-path search is simply a subtraction. We keep their HMM (a
Gaussian emission on the fix's distance to a candidate, a transition that prefers
progress to grow by what the truck can have driven) with two changes:

* Candidates are the *local minima* of the fix-to-route distance along the measure, so
  a street driven twice (both sides, out and back, a loop) gives one candidate per pass
  and the passes compete.
* Each hypothesis carries an along-route alpha-beta filter (progress and speed, gains
  from the tracking index for the fix interval). The transition cost is the filter's
  innovation likelihood, which tells passes apart (the other pass is hundreds of metres
  of measure away from where the truck is expected), and the filtered progress smooths
  GPS noise along the street, which a raw projection cannot.

The max-product (Viterbi) recursion runs online with no lag: a live map needs the
answer now, so each fix outputs the best surviving hypothesis, and up to
``max_hypotheses`` others (other passes, "fix was an outlier", a jump to where the
truck rejoined) survive until later fixes decide. Moves beyond ``max_speed_mps`` are
unreachable; if no candidate is reachable the matcher re-acquires from all candidates
at a ``jump_cost``, and every hypothesis may also ignore a fix at a ``hold_cost``. The
on/off-route flag is a hysteresis over consecutive held (far) and matched fixes.

A truck off its route (to a dump, a depot) still reports its speed, which is then not
along the route: from the ``off_after_fixes``-th far fix its hypotheses are parked where
it left instead of dead-reckoned, and when it comes back after ``rejoin_after_fixes``
or more, every pass bids by its distance from that departure point. The point survives
brief returns (driving along part of its own route on the way), so the state carries it
(``left_m``, ``back_t_s``, ``rejoined_t_s``); see :func:`fleet._snap_core.leg` and
``excursion``.

Live matching calls :func:`fleet._snap_core.next_hyps` once per fix on the candidates
in the reachable measure window. Batch matching (:func:`match_traces`) finds every
fix's candidates at once from a segment grid (a superset that agrees on every
reachable candidate) and runs the same recursion for many traces in lockstep with
NumPy (:mod:`fleet._snap_batch`), with the same arithmetic in the same order, so a
trace gets bit-for-bit the live answers; once fewer than ~16 traces are left, they
finish through ``next_hyps`` one by one, which is faster for so few.
"""

from __future__ import annotations

from math import inf

import numpy as np
import numpy.typing as npt

from fleet._snap_core import (
    MIN_DT_S,
    Hyp,
    first_parked,
    flags,
    gates,
    is_near,
    leg,
    next_hyps,
)  # fmt: skip
from fleet._snap_trace import TraceFixes, TraceMatch, match_traces
from fleet._snap_types import Hypothesis, MatchState, SnapConfig, SnapResult, state_at
from fleet.geo import to_lonlat, to_metric_xy
from fleet.network import RouteGeometry

FloatArray = npt.NDArray[np.float64]

__all__ = [
    "Hypothesis",
    "MatchState",
    "Matcher",
    "SnapConfig",
    "SnapResult",
    "TraceFixes",
    "TraceMatch",
    "match_trace",
    "match_traces",
    "state_at",
]


class Matcher:
    """Live matcher for one route: one call per fix, state kept by the caller."""

    def __init__(self, route: RouteGeometry, config: SnapConfig | None = None) -> None:
        self.route = route
        self.config = config or SnapConfig()

    def step(
        self,
        state: MatchState | None,
        t_s: float,
        lon: float,
        lat: float,
        speed_mps: float | None = None,
        accuracy_m: float | None = None,
    ) -> tuple[MatchState, SnapResult]:
        """Match one fix (time in seconds, WGS84 degrees) given the truck's last state."""
        cfg, route = self.config, self.route
        px, py = to_metric_xy(lon, lat)
        sigma = _sigma(accuracy_m, cfg)
        gate, far_m = gates(sigma, cfg)
        hyps = [] if state is None else [_as_tuple(h) for h in state.hypotheses]
        window = self._window(hyps, px, py, t_s, sigma, gate) if hyps else ([], [])
        found: list[tuple[list[float], list[float]]] = []

        def everywhere() -> tuple[list[float], list[float]]:
            if not found:
                found.append(self._everywhere(px, py, gate))
            return found[0]

        near = is_near(window[1], everywhere, far_m)
        speed = _speed(speed_mps, cfg)
        prior = None if state is None else (state.on_route, state.far_run, state.near_run)
        kind = leg(near, prior, cfg)
        kept, trip = next_hyps(
            hyps, window, everywhere, t_s, sigma, speed, near, route.length_m, cfg, kind,
            first_parked(kind, prior, cfg), (None, None, None) if state is None else state.trip,
        )  # fmt: skip
        on, far_run, near_run, conf = flags(kept, near, prior, sigma, cfg)
        progress = kept[0][0] if kept else 0.0
        held = not kept or kept[0][5] < 0.0
        offset = float(route.distance_m(px, py)[0]) if held else kept[0][5]
        lon_s, lat_s = to_lonlat(*route.xy_at_scalar(progress))
        kept_h = tuple(_as_hypothesis(h) for h in kept)
        new_state = MatchState(t_s, kept_h, on, far_run, near_run, *trip)
        result = SnapResult(route.route_id, progress, float(lon_s), float(lat_s), offset, on, conf)
        return new_state, result

    def _window(
        self, hyps: list[Hyp], px: float, py: float, t: float, sigma: float, gate_m: float
    ) -> tuple[list[float], list[float]]:
        """Candidates in the measure windows reachable from any hypothesis."""
        cfg = self.config
        slack = cfg.reach_slack_m + 3.0 * sigma
        spans = []
        for m, _, _, th, _, _ in hyps:
            reach = cfg.max_speed_mps * max(t - th, MIN_DT_S) + slack + 1.0
            spans.append((m - reach, m + reach))
        spans.sort()
        ms: list[float] = []
        ds: list[float] = []
        lo, hi = spans[0]
        for a, b in [*spans[1:], (inf, inf)]:
            if a <= hi:
                hi = max(hi, b)
                continue
            wm, wd = self.route.window_candidates(px, py, lo, hi, gate_m)
            for m, d in zip(wm, wd, strict=True):
                if not ms or m > ms[-1]:
                    ms.append(m)
                    ds.append(d)
            lo, hi = a, b
        return ms, ds

    def _everywhere(self, px: float, py: float, gate_m: float) -> tuple[list[float], list[float]]:
        c = self.route.candidates(np.array([px]), np.array([py]), gate_m)
        return c.progress_m.tolist(), c.offset_m.tolist()


def _as_tuple(h: Hypothesis) -> Hyp:
    return (h.progress_m, h.speed_mps, h.score, h.t_s, h.updates, -1.0 if h.held else 0.0)


def _as_hypothesis(h: Hyp) -> Hypothesis:
    return Hypothesis(h[0], h[1], h[2], h[3], h[4], h[5] < 0.0)


def _sigma(accuracy_m: float | None, cfg: SnapConfig) -> float:
    """GPS noise for one fix: its reported accuracy if any, else the configured one."""
    if accuracy_m is None or not accuracy_m == accuracy_m:
        return cfg.sigma_m
    return max(float(accuracy_m), cfg.min_sigma_m)


def _speed(speed_mps: float | None, cfg: SnapConfig) -> float:
    """Reported ground speed, 0.0 below ``standstill_mps``, or -1.0 when the device
    sent none (as ``_snap_trace._speeds`` for a whole trace)."""
    if speed_mps is None or not speed_mps == speed_mps:
        return -1.0
    speed = float(speed_mps)
    return 0.0 if 0.0 <= speed < cfg.standstill_mps else speed


def match_trace(
    route: RouteGeometry,
    t_s: npt.ArrayLike,
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    speed_mps: npt.ArrayLike | None = None,
    accuracy_m: npt.ArrayLike | None = None,
    config: SnapConfig | None = None,
    state: MatchState | None = None,
) -> TraceMatch:
    """Match a whole trace (time-ordered, WGS84 degrees) as :meth:`Matcher.step` would.

    NaN speed or accuracy means missing. Many traces at once: :func:`match_traces`.
    """
    fixes = TraceFixes(t_s, lon, lat, speed_mps, accuracy_m, state)
    return match_traces([route], [fixes], config)[0]
