"""Simulated garbage trucks: a day of GPS fixes per truck, with the truth beside each fix.

Pure and deterministic for a given seed: no clock, no network. Each truck leaves the
depot at its shift start, drives its planned route stopping 20-60 s at every installed
bin (planned bins are passed by), runs to its kecamatan's processing site (or, ~15 % of
days, to TPA Alak), dumps, and drives back to the depot. Inputs are plain values in
WGS84 lon/lat; all geometry is done in UTM 51S metres (``fleet.geo``). The phone's GPS
adds time-correlated noise, rare ~150 m outliers and dropouts, and reports one fix per
interval with speed and heading.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import shapely
from shapely import LineString, Point
from shapely.geometry.base import BaseGeometry

from fleet._sim_gps import BREAKDOWN, SITE, GpsConfig, GpsTrace, observe
from fleet._sim_motion import MotionConfig, Stop, Timeline, build_timeline, plan_speeds
from fleet._sim_path import DayPath, build_day_path
from fleet.fix import WITA
from fleet.geo import to_metric

__all__ = [
    "BinSpec",
    "GpsConfig",
    "MotionConfig",
    "RouteEdit",
    "RouteSpec",
    "SimFix",
    "SimTruth",
    "SiteSpec",
    "TruckTrace",
    "merge_traces",
    "simulate_fleet",
    "simulate_truck",
]

_BIN_DWELL_S = (20.0, 60.0)
_SITE_DWELL_S = (600.0, 1200.0)
_LANDFILL_SHARE = 0.15
_GPS = GpsConfig()
_MOTION = MotionConfig()


@dataclass(frozen=True)
class RouteSpec:
    """A planned route; ``line`` is lon/lat in drive order, starting at the depot."""

    route_id: str
    truck_id: str
    kecamatan: str
    line: LineString
    shift_start: time
    shift_end: time
    collection_start_m: float
    collection_end_m: float


@dataclass(frozen=True)
class BinSpec:
    """A bin location; ``progress_m`` is its measure along its route (metres, UTM 51S)."""

    bin_id: str
    route_id: str
    progress_m: float
    installed: bool


@dataclass(frozen=True)
class SiteSpec:
    """A depot, processing site or landfill; ``geometry`` is lon/lat."""

    site_id: str
    kind: str
    name: str
    kecamatan: str
    geometry: BaseGeometry


@dataclass(frozen=True)
class RouteEdit:
    """A scenario's change to one truck's day, as fractions of its collection stretch."""

    skip_fraction: tuple[float, float] | None = None
    breakdown_fraction: float | None = None


@dataclass(frozen=True, slots=True)
class SimTruth:
    """What really happened at a fix's time: for tests and benchmarks, never sent."""

    lat: float
    lon: float
    speed_mps: float
    progress_m: float | None
    at_bin: str | None
    phase: str
    outlier: bool


@dataclass(frozen=True, slots=True)
class SimFix:
    """One fix as the phone reports it; ``t`` is aware UTC."""

    truck_id: str
    t: datetime
    lat: float
    lon: float
    speed_mps: float
    heading_deg: float
    accuracy_m: float
    battery_pct: float
    altitude_m: float = 0.0
    odometer_m: float = 0.0
    truth: SimTruth | None = field(default=None, compare=False)


@dataclass(frozen=True)
class TruckTrace:
    """A truck's fixes for the day as arrays; iterate to get ``SimFix`` values lazily."""

    truck_id: str
    departure: datetime
    gps: GpsTrace
    timeline: Timeline
    path: DayPath

    def __len__(self) -> int:
        return len(self.gps.t_s)

    def __iter__(self) -> Iterator[SimFix]:
        g = self.gps
        for i in range(len(g.t_s)):
            progress = float(g.progress_m[i])
            truth = SimTruth(
                float(g.true_lat[i]),
                float(g.true_lon[i]),
                float(g.true_speed_mps[i]),
                None if np.isnan(progress) else progress,
                g.at_bin[i] or None,
                str(g.phase[i]),
                bool(g.outlier[i]),
            )
            yield SimFix(
                self.truck_id,
                self.departure + timedelta(seconds=float(g.t_s[i])),
                float(g.lat[i]),
                float(g.lon[i]),
                float(g.speed_mps[i]),
                float(g.heading_deg[i]),
                float(g.accuracy_m[i]),
                float(g.battery_pct[i]),
                float(g.altitude_m[i]),
                float(g.odometer_m[i]),
                truth,
            )


def simulate_truck(
    route: RouteSpec,
    bins: Sequence[BinSpec],
    sites: Sequence[SiteSpec],
    *,
    day: date,
    seed: int = 0,
    gps: GpsConfig = _GPS,
    motion: MotionConfig = _MOTION,
    edit: RouteEdit | None = None,
    start: datetime | None = None,
) -> TruckTrace:
    """Simulate one truck's day.

    Without ``start`` the trace begins at the shift start on ``day``. With ``start``
    (aware) the truck is caught mid-shift: it left the depot earlier, by a random share
    of its route time, so the first fix is at ``start`` somewhere along its route.
    """
    rng = np.random.default_rng([seed, _stable_hash(route.truck_id)])
    edit = edit or RouteEdit()
    route_m = _to_metric_line(route.line)
    span = route.collection_end_m - route.collection_start_m
    skip = None
    if edit.skip_fraction is not None:
        lo, hi = edit.skip_fraction
        skip = (route.collection_start_m + lo * span, route.collection_start_m + hi * span)
    site = _pick_site(route, sites, rng)
    path = build_day_path(
        route_m,
        collection_start_m=route.collection_start_m,
        collection_end_m=route.collection_end_m,
        site=site,
        skip_m=skip,
    )
    shift_s = _shift_seconds(route)
    timeline = _timeline(route, path, bins, rng, motion, edit, shift_s)
    departure = datetime.combine(day, route.shift_start, WITA).astimezone(UTC)
    first_s = 0.0
    if start is not None:
        route_end_s = timeline.time_at(SITE) or timeline.duration_s
        lead_fixes = np.round(rng.uniform(0.05, 0.8) * route_end_s / gps.interval_s)
        lead_s = float(lead_fixes * gps.interval_s)
        departure = start.astimezone(UTC).replace(microsecond=0) - timedelta(seconds=lead_s)
        first_s = lead_s
    trace = observe(timeline, path, gps, rng, first_s=first_s)
    return TruckTrace(route.truck_id, departure, trace, timeline, path)


def simulate_fleet(
    routes: Sequence[RouteSpec],
    bins: Sequence[BinSpec],
    sites: Sequence[SiteSpec],
    *,
    day: date,
    seed: int = 0,
    gps: GpsConfig = _GPS,
    edits: Mapping[str, RouteEdit] | None = None,
    start: datetime | None = None,
) -> list[TruckTrace]:
    """One trace per route; each truck's randomness depends only on ``seed`` and its id."""
    by_route: dict[str, list[BinSpec]] = {}
    for b in bins:
        by_route.setdefault(b.route_id, []).append(b)
    edits = edits or {}
    return [
        simulate_truck(
            r,
            by_route.get(r.route_id, []),
            sites,
            day=day,
            seed=seed,
            gps=gps,
            edit=edits.get(r.truck_id, RouteEdit()),
            start=start,
        )
        for r in routes
    ]


def merge_traces(traces: Iterable[TruckTrace]) -> Iterator[SimFix]:
    """All trucks' fixes in time order, produced lazily."""
    return heapq.merge(*traces, key=lambda f: f.t)


def _timeline(
    route: RouteSpec,
    path: DayPath,
    bins: Sequence[BinSpec],
    rng: np.random.Generator,
    motion: MotionConfig,
    edit: RouteEdit,
    shift_s: float,
) -> Timeline:
    bounds = path.path_m_of_progress(np.array([route.collection_start_m, route.collection_end_m]))
    collecting = (float(np.nan_to_num(bounds[0])), float(np.nan_to_num(bounds[1])))
    breaks, speeds = plan_speeds(path.line, rng, motion, collecting)
    stops = _bin_stops(path, [b for b in bins if b.installed and b.route_id == route.route_id], rng)
    if path.site_m is not None:
        stops.append(Stop(path.site_m, float(rng.uniform(*_SITE_DWELL_S)), SITE))
    if edit.breakdown_fraction is None:
        return build_timeline(breaks, speeds, stops, end_m=path.length_m)
    span = route.collection_end_m - route.collection_start_m
    at = path.path_m_of_progress(
        np.array([route.collection_start_m + edit.breakdown_fraction * span])
    )[0]
    at = float(np.nan_to_num(at, nan=path.length_m / 2.0))
    moving = build_timeline(breaks, speeds, stops, end_m=at)
    hold_s = max(shift_s - moving.duration_s, 1800.0)
    return build_timeline(breaks, speeds, [*stops, Stop(at, hold_s, BREAKDOWN)], end_m=at)


def _bin_stops(path: DayPath, bins: Sequence[BinSpec], rng: np.random.Generator) -> list[Stop]:
    """One stop per installed bin the truck actually passes, in drive order."""
    if not bins:
        return []
    at_m = path.path_m_of_progress(np.array([b.progress_m for b in bins], dtype=float))
    dwell = rng.uniform(*_BIN_DWELL_S, size=len(bins))
    order = np.argsort(at_m, kind="stable")
    return [
        Stop(float(at_m[i]), float(dwell[i]), bins[i].bin_id)
        for i in order
        if not np.isnan(at_m[i])
    ]


def _pick_site(
    route: RouteSpec, sites: Sequence[SiteSpec], rng: np.random.Generator
) -> Point | None:
    """The kecamatan's processing site, or the landfill on ~15 % of days."""
    processing = [s for s in sites if s.kind == "processing"]
    landfill = [s for s in sites if s.kind == "landfill"]
    own = [s for s in processing if s.kecamatan == route.kecamatan] or processing
    to_landfill = rng.random() < _LANDFILL_SHARE
    chosen = landfill if (to_landfill or not own) and landfill else own
    if not chosen:
        return None
    depot = Point(route.line.coords[0])
    site = min(chosen, key=lambda s: s.geometry.distance(depot))
    centre = site.geometry.representative_point()
    x, y = to_metric(centre.x, centre.y)
    return Point(float(x), float(y))


def _to_metric_line(line: LineString) -> LineString:
    lonlat = shapely.get_coordinates(line)
    x, y = to_metric(lonlat[:, 0], lonlat[:, 1])
    return LineString(np.column_stack([x, y]))


def _shift_seconds(route: RouteSpec) -> float:
    start = route.shift_start.hour * 3600 + route.shift_start.minute * 60
    end = route.shift_end.hour * 3600 + route.shift_end.minute * 60
    return float((end - start) % 86400 or 86400)


def _stable_hash(text: str) -> int:
    """A per-truck seed component that, unlike ``hash``, is the same in every process."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
