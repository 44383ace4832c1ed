"""Serviced-bin detection from truck tracks: there is no RFID, only GPS.

A bin of the truck's own route is *serviced* when the truck comes within ``radius_m``
of it and slows (speed under ``stop_speed_mps``) or lingers (``dwell_s`` inside the
radius within one pass); a bin reached only at speed is *passed*. The segment between
consecutive fixes is checked, not only the fixes, so a fix every 30 s skips no bin:
the segment's closest approach counts, the time inside the radius is interpolated
along it, and its average speed stands in where the device gives none.

This module is the per-ping path (``observe_segment`` + ``merge_visit``, the hot path);
``fleet.coverage_day.detect_visits`` recomputes a whole day of one truck with the same
kernel and the same pass-folding rule, so the two cannot disagree. Coordinates are
metres in EPSG:32751 (UTM 51S); times are POSIX seconds. Pure: numpy and Shapely only.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import shapely

from fleet.fix import WITA

__all__ = [
    "DEFAULT_CONFIG",
    "BinIndex",
    "BinObservation",
    "CoverageConfig",
    "RouteBins",
    "TrackPoint",
    "Visit",
    "VisitPass",
    "merge_visit",
    "observe_segment",
    "wita_date",
]

FloatArray = npt.NDArray[np.float64]
VisitStatus = Literal["serviced", "passed"]


@dataclass(frozen=True, slots=True)
class CoverageConfig:
    """Thresholds of the service rule; every duration in seconds, distance in metres."""

    radius_m: float = 25.0
    stop_speed_mps: float = 2.0
    dwell_s: float = 10.0
    #: Fixes further apart than this are not joined by a segment (device off, tunnel).
    max_gap_s: float = 120.0
    #: Time outside the radius after which coming back starts a new pass.
    pass_gap_s: float = 20.0
    #: Fix times kept as evidence per pass: the first and last half of this.
    max_evidence_fixes: int = 20
    max_passes: int = 16

    @property
    def dwell_ms(self) -> int:
        return round(self.dwell_s * 1000)


DEFAULT_CONFIG = CoverageConfig()


@dataclass(frozen=True, slots=True)
class TrackPoint:
    """One fix of a truck in metres (EPSG:32751); ``speed_mps`` from the device, if any."""

    t_s: float
    x_m: float
    y_m: float
    speed_mps: float | None = None


@dataclass(frozen=True, slots=True)
class BinObservation:
    """What one segment (or lone fix) tells about one bin it came within the radius of."""

    bin_id: str
    route_id: str
    t_first_s: float
    t_last_s: float
    closest_m: float
    dwell_s: float
    min_speed_mps: float | None
    stopped: bool
    fix_times_s: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class VisitPass:
    """One continuous stay near a bin; dwell in whole milliseconds so sums are exact."""

    t_first_s: float
    t_last_s: float
    closest_m: float
    dwell_ms: int
    min_speed_mps: float | None
    stopped: bool
    fix_times_s: tuple[float, ...]
    fix_count: int

    def as_json(self) -> dict[str, Any]:
        return {
            "t_first_s": self.t_first_s,
            "t_last_s": self.t_last_s,
            "closest_m": self.closest_m,
            "dwell_s": self.dwell_ms / 1000.0,
            "min_speed_mps": self.min_speed_mps,
            "stopped": self.stopped,
            "fix_times_s": list(self.fix_times_s),
            "fix_count": self.fix_count,
        }


@dataclass(frozen=True, slots=True)
class Visit:
    """A truck's visits to one bin on one WITA day: a row of ``bin_visits``.

    ``dwell_s`` is the longest pass's dwell; ``passes`` is the evidence (each pass with
    its fix times, closest distance and dwell). ``recorded_at_s`` is when the current
    status was first known to the server.
    """

    bin_id: str
    truck_id: str
    route_id: str
    service_date: date
    first_time_s: float
    last_time_s: float
    closest_m: float
    dwell_s: float
    min_speed_mps: float | None
    status: VisitStatus
    passes: tuple[VisitPass, ...]
    recorded_at_s: float

    def evidence(self) -> dict[str, Any]:
        """The JSON stored in ``bin_visits.evidence``."""
        return {"passes": [p.as_json() for p in self.passes]}


@dataclass(frozen=True, slots=True)
class RouteBins:
    """The installed bins of one route with their own STRtree (built once)."""

    bin_ids: tuple[str, ...]
    x_m: FloatArray
    y_m: FloatArray
    tree: shapely.STRtree


@dataclass(frozen=True, slots=True)
class BinIndex:
    """Installed bins per route; rebuild with ``from_arrays`` only when bins change.

    One tree per route, because only bins of the truck's own route count: bins of
    another route along the same street are never candidates.
    """

    routes: Mapping[str, RouteBins]

    @classmethod
    def from_arrays(
        cls,
        bin_ids: Sequence[str],
        route_ids: Sequence[str],
        x_m: npt.ArrayLike,
        y_m: npt.ArrayLike,
    ) -> BinIndex:
        """Index installed bins given in metres (EPSG:32751); planned bins do not belong."""
        ids = np.asarray(bin_ids, dtype=object)
        routes = np.asarray(route_ids, dtype=object)
        xs = np.asarray(x_m, dtype=np.float64)
        ys = np.asarray(y_m, dtype=np.float64)
        by_route: dict[str, RouteBins] = {}
        for route_id in dict.fromkeys(routes.tolist()):
            sel = routes == route_id
            bx, by = xs[sel].copy(), ys[sel].copy()
            tree = shapely.STRtree(shapely.points(bx, by))
            by_route[str(route_id)] = RouteBins(tuple(map(str, ids[sel])), bx, by, tree)
        return cls(by_route)


def wita_date(t_s: float) -> date:
    """The WITA calendar date of a POSIX time: the service day a visit belongs to."""
    return datetime.fromtimestamp(t_s, WITA).date()


@dataclass(frozen=True, slots=True)
class PairHits:
    """Kernel output, one entry per (segment, bin) candidate pair."""

    hit: npt.NDArray[np.bool_]
    closest_m: FloatArray
    t_first_s: FloatArray
    t_last_s: FloatArray
    dwell_ms: npt.NDArray[np.int64]
    min_speed_mps: FloatArray
    stopped: npt.NDArray[np.bool_]


def observe_pairs(
    seg: Sequence[Any], bx: FloatArray, by: FloatArray, config: CoverageConfig
) -> PairHits:
    """Closest approach, interpolated stay and speed of segments against bins.

    ``seg`` is (x0, y0, t0, v0, x1, y1, t1, v1, is_seg), arrays or scalars that
    broadcast against the bins; a lone fix has start == end and ``is_seg`` False.
    Elementwise only, so one pair gives the same bits alone as inside a big batch.
    """
    x0, y0, t0, v0, x1, y1, t1, v1, is_seg = seg
    r = config.radius_m
    dx, dy = x1 - x0, y1 - y0
    fx, fy = bx - x0, by - y0
    len2 = dx * dx + dy * dy
    moving = len2 > 0.0
    safe2 = np.where(moving, len2, 1.0)
    s_foot = (fx * dx + fy * dy) / safe2
    s_near = np.clip(s_foot, 0.0, 1.0)
    closest = np.sqrt((fx - s_near * dx) ** 2 + (fy - s_near * dy) ** 2)
    line2 = (fx - s_foot * dx) ** 2 + (fy - s_foot * dy) ** 2
    half = np.sqrt(np.maximum(r * r - line2, 0.0) / safe2)
    s_in = np.where(moving, np.maximum(s_foot - half, 0.0), 0.0)
    s_out = np.where(moving, np.minimum(s_foot + half, 1.0), 1.0)
    flipped = s_in > s_out
    s_in, s_out = np.where(flipped, s_near, s_in), np.where(flipped, s_near, s_out)
    dt = t1 - t0
    dwell_ms = np.rint((s_out - s_in) * dt * 1000.0).astype(np.int64)
    seg_speed = np.where(is_seg, np.sqrt(len2) / np.where(is_seg, dt, 1.0), np.nan)
    in0 = is_seg & (np.sqrt(fx * fx + fy * fy) <= r)
    in1 = np.sqrt((bx - x1) ** 2 + (by - y1) ** 2) <= r
    at0 = np.where(in0, np.where(np.isnan(v0), seg_speed, v0), np.nan)
    at1 = np.where(in1, np.where(np.isnan(v1), seg_speed, v1), np.nan)
    min_speed = np.where(in0 | in1, np.fmin(at0, at1), seg_speed)
    stopped = (min_speed < config.stop_speed_mps) | (dwell_ms >= config.dwell_ms)
    return PairHits(
        closest <= r, closest, t0 + s_in * dt, t0 + s_out * dt, dwell_ms, min_speed, stopped
    )


def observe_segment(
    index: BinIndex,
    route_id: str,
    prev: TrackPoint | None,
    cur: TrackPoint,
    config: CoverageConfig = DEFAULT_CONFIG,
) -> list[BinObservation]:
    """Bins of ``route_id`` that the move ``prev`` -> ``cur`` came within ``radius_m`` of.

    Only bins near the segment are looked at (one STRtree query with the segment's
    bounding box grown by the radius). Without ``prev``, or when the fixes are not
    0 < dt <= ``max_gap_s`` apart (nothing to interpolate), ``cur`` counts alone.
    """
    bins = index.routes.get(route_id)
    if bins is None:
        return []
    joined = prev is not None and 0.0 < cur.t_s - prev.t_s <= config.max_gap_s
    a = prev if joined and prev is not None else cur
    r = config.radius_m
    box = shapely.box(
        min(a.x_m, cur.x_m) - r,
        min(a.y_m, cur.y_m) - r,
        max(a.x_m, cur.x_m) + r,
        max(a.y_m, cur.y_m) + r,
    )
    cand = bins.tree.query(box)
    if cand.size == 0:
        return []
    v0 = np.nan if a.speed_mps is None else a.speed_mps
    v1 = np.nan if cur.speed_mps is None else cur.speed_mps
    seg = (a.x_m, a.y_m, a.t_s, v0, cur.x_m, cur.y_m, cur.t_s, v1, joined)
    h = observe_pairs(seg, bins.x_m[cand], bins.y_m[cand], config)
    fix_times = (a.t_s, cur.t_s) if joined else (cur.t_s,)
    out = []
    for i in np.flatnonzero(h.hit).tolist():
        speed = float(h.min_speed_mps[i])
        out.append(
            BinObservation(
                bins.bin_ids[int(cand[i])],
                route_id,
                float(h.t_first_s[i]),
                float(h.t_last_s[i]),
                float(h.closest_m[i]),
                int(h.dwell_ms[i]) / 1000.0,
                None if speed != speed else speed,
                bool(h.stopped[i]),
                fix_times,
            )
        )
    return out


def merge_visit(
    existing: Visit | None,
    obs: BinObservation,
    config: CoverageConfig = DEFAULT_CONFIG,
    *,
    truck_id: str,
    recorded_at_s: float,
) -> Visit:
    """Fold one observation into the day's visit of (bin, truck); returns a new value.

    Feed observations in time order per truck: an observation within ``pass_gap_s``
    of the last pass extends it (dwell accumulates), a later one opens a new pass.
    ``recorded_at_s`` (when the pipeline processed the fix) becomes the visit's
    ``recorded_at`` when it is created or upgraded to serviced, so a late backlog
    shows as a late correction.
    """
    if existing is not None and (existing.bin_id, existing.truck_id) != (obs.bin_id, truck_id):
        raise ValueError("observation is for another bin or truck than the visit")
    times = obs.fix_times_s
    p = VisitPass(
        obs.t_first_s,
        obs.t_last_s,
        obs.closest_m,
        round(obs.dwell_s * 1000),
        obs.min_speed_mps,
        obs.stopped,
        times,
        len(times),
    )
    key = (obs.bin_id, truck_id, obs.route_id)
    return fold_pass(existing, p, config, key, recorded_at_s, recorded_at_s)


def fold_pass(
    visit: Visit | None,
    p: VisitPass,
    config: CoverageConfig,
    key: tuple[str, str, str],
    created_at_s: float,
    serviced_at_s: float,
) -> Visit:
    """The one folding rule both paths use; ``serviced_at_s`` counts if ``p`` is stopped."""
    if visit is None:
        status: VisitStatus = "serviced" if p.stopped else "passed"
        recorded = serviced_at_s if p.stopped else created_at_s
        return Visit(
            *key,
            wita_date(p.t_first_s),
            p.t_first_s,
            p.t_last_s,
            p.closest_m,
            p.dwell_ms / 1000.0,
            p.min_speed_mps,
            status,
            (p,),
            recorded,
        )
    passes, placed = _place(visit.passes, p, config)
    upgrade = visit.status == "passed" and placed.stopped
    return Visit(
        visit.bin_id,
        visit.truck_id,
        visit.route_id,
        visit.service_date,
        min(visit.first_time_s, p.t_first_s),
        max(visit.last_time_s, p.t_last_s),
        min(visit.closest_m, p.closest_m),
        max(visit.dwell_s, placed.dwell_ms / 1000.0),
        _min_speed(visit.min_speed_mps, p.min_speed_mps),
        "serviced" if upgrade else visit.status,
        passes,
        serviced_at_s if upgrade else visit.recorded_at_s,
    )


def _place(
    passes: tuple[VisitPass, ...], p: VisitPass, config: CoverageConfig
) -> tuple[tuple[VisitPass, ...], VisitPass]:
    """Extend the last pass with ``p`` or add ``p`` as its own pass, then cap."""
    last = passes[-1]
    if p.t_first_s >= last.t_first_s and p.t_first_s - last.t_last_s <= config.pass_gap_s:
        joined = _join(last, p, config)
        return passes[:-1] + (joined,), joined
    at = bisect_right([q.t_first_s for q in passes], p.t_first_s)
    out = list(passes[:at]) + [p] + list(passes[at:])
    while len(out) > config.max_passes:
        # Drop the oldest pass that proves nothing; keep the first stop and the newest.
        drop = next((i for i, q in enumerate(out[:-1]) if not q.stopped), 1)
        del out[drop]
    return tuple(out), p


def _join(a: VisitPass, b: VisitPass, config: CoverageConfig) -> VisitPass:
    dwell_ms = a.dwell_ms + b.dwell_ms
    shared = 1 if a.fix_times_s[-1] == b.fix_times_s[0] else 0
    count = a.fix_count + b.fix_count - shared
    times = a.fix_times_s + b.fix_times_s[shared:]
    cap = config.max_evidence_fixes
    if count > cap:
        times = times[: cap // 2] + times[len(times) - cap // 2 :]
    return VisitPass(
        min(a.t_first_s, b.t_first_s),
        max(a.t_last_s, b.t_last_s),
        min(a.closest_m, b.closest_m),
        dwell_ms,
        _min_speed(a.min_speed_mps, b.min_speed_mps),
        a.stopped or b.stopped or dwell_ms >= config.dwell_ms,
        times,
        count,
    )


def _min_speed(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else min(a, b)
