"""Disposal trips from truck tracks: stays at depots, processing sites and TPA Alak.

A truck *enters* a site when a fix falls inside its polygon and *stays* until a fix is
farther than ``exit_margin_m`` from it (hysteresis: GPS jitter at the fence does not
split a stay). A stay counts once it lasted ``min_dwell_s`` (a drive-by does not). A
disposal trip is a counted stay at a processing site or the landfill; the city's aim is
that at most 15% of trips end at the landfill, the rest handled in the kecamatan.

Per round of pings: ``advance_sites`` from the ``SiteState`` kept per truck; per day:
``detect_site_visits`` (both vectorized lookups, the same state machine, the same
result however the fixes are split). Metres in EPSG:32751, POSIX
seconds. Pure: Shapely and numpy only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

__all__ = [
    "GeofenceConfig",
    "Site",
    "SiteIndex",
    "SiteState",
    "SiteVisit",
    "TripReport",
    "TripSummary",
    "advance_sites",
    "detect_site_visits",
    "open_visit",
    "step_site",
    "summarize_trips",
    "trip_report",
]

DISPOSAL_KINDS = frozenset({"processing", "landfill"})


@dataclass(frozen=True, slots=True)
class GeofenceConfig:
    min_dwell_s: float = 60.0
    exit_margin_m: float = 30.0
    landfill_target_share: float = 0.15


DEFAULT_CONFIG = GeofenceConfig()


@dataclass(frozen=True, slots=True)
class Site:
    """A fenced site; ``kind`` is "depot", "processing" or "landfill"; polygon in metres."""

    site_id: str
    name: str
    kind: str
    kecamatan: str
    polygon: shapely.Geometry


@dataclass(frozen=True, slots=True)
class SiteIndex:
    """Sites with an STRtree, built once and rebuilt only when sites change."""

    sites: tuple[Site, ...]
    tree: shapely.STRtree

    @classmethod
    def from_sites(cls, sites: Iterable[Site]) -> SiteIndex:
        site_list = tuple(sites)
        return cls(site_list, shapely.STRtree([s.polygon for s in site_list]))


@dataclass(frozen=True, slots=True)
class SiteState:
    """Where one truck is: index of the site it stays at (None: outside) and since when."""

    site: int | None = None
    enter_s: float = 0.0
    last_in_s: float = 0.0


@dataclass(frozen=True, slots=True)
class SiteVisit:
    """A counted stay; ``open`` while the truck is still there."""

    site_id: str
    name: str
    kind: str
    kecamatan: str
    enter_s: float
    exit_s: float
    open: bool = False

    @property
    def dwell_s(self) -> float:
        return self.exit_s - self.enter_s

    @property
    def is_disposal(self) -> bool:
        return self.kind in DISPOSAL_KINDS


def step_site(
    index: SiteIndex,
    state: SiteState | None,
    t_s: float,
    x_m: float,
    y_m: float,
    config: GeofenceConfig = DEFAULT_CONFIG,
) -> tuple[SiteState, SiteVisit | None]:
    """Advance one truck's state by a fix; returns the stay it just left, if it counted."""
    state, left = advance_sites(index, state, [t_s], [x_m], [y_m], config)
    return state, left[0] if left else None


def advance_sites(
    index: SiteIndex,
    state: SiteState | None,
    t_s: npt.ArrayLike,
    x_m: npt.ArrayLike,
    y_m: npt.ArrayLike,
    config: GeofenceConfig = DEFAULT_CONFIG,
) -> tuple[SiteState, list[SiteVisit]]:
    """Advance one truck's state over its fixes (in time order) with two index queries
    for all of them, not two per fix; returns the state after and the counted stays
    left on the way. Only fixes near a site, and the first fix after each, can change
    the state, so the state machine runs on those alone."""
    state = state or SiteState()
    t = np.asarray(t_s, dtype=np.float64)
    order = np.argsort(t, kind="stable")
    t = t[order]
    points = shapely.points(np.asarray(x_m, np.float64)[order], np.asarray(y_m, np.float64)[order])
    inside = np.full(t.size, len(index.sites), dtype=np.int64)
    fix, site = index.tree.query(points, predicate="intersects")
    np.minimum.at(inside, fix, site)
    fix_near, site_near = index.tree.query(
        points, predicate="dwithin", distance=config.exit_margin_m
    )
    near_pairs = set(zip(fix_near.tolist(), site_near.tolist(), strict=True))
    busy = np.zeros(t.size + 1, dtype=bool)
    busy[fix_near] = True
    busy[1:] |= busy[:-1].copy()
    busy[0] |= state.site is not None
    visits = []
    for k in np.flatnonzero(busy[: t.size]).tolist():
        near = state.site is not None and (k, state.site) in near_pairs
        hit = int(inside[k]) if inside[k] < len(index.sites) else -1
        state, left = _advance(index, state, float(t[k]), near, hit, config)
        if left is not None:
            visits.append(left)
    return state, visits


def open_visit(
    index: SiteIndex, state: SiteState, config: GeofenceConfig = DEFAULT_CONFIG
) -> SiteVisit | None:
    """The stay in progress if it already counts (for live trip counts)."""
    if state.site is None or state.last_in_s - state.enter_s < config.min_dwell_s:
        return None
    return _visit(index, state, is_open=True)


def detect_site_visits(
    index: SiteIndex,
    t_s: npt.ArrayLike,
    x_m: npt.ArrayLike,
    y_m: npt.ArrayLike,
    config: GeofenceConfig = DEFAULT_CONFIG,
) -> list[SiteVisit]:
    """Counted stays of one truck's day track, the last one ``open`` if still there."""
    state, visits = advance_sites(index, None, t_s, x_m, y_m, config)
    last = open_visit(index, state, config)
    return visits + ([last] if last is not None else [])


def _advance(
    index: SiteIndex,
    state: SiteState,
    t_s: float,
    near_current: bool,
    inside: int,
    config: GeofenceConfig,
) -> tuple[SiteState, SiteVisit | None]:
    """The one state machine both paths use; ``inside`` is a site index or -1."""
    if state.site is not None and near_current:
        return SiteState(state.site, state.enter_s, t_s), None
    left = None
    if state.site is not None and state.last_in_s - state.enter_s >= config.min_dwell_s:
        left = _visit(index, state, is_open=False)
    if inside >= 0:
        return SiteState(inside, t_s, t_s), left
    return SiteState(), left


def _visit(index: SiteIndex, state: SiteState, *, is_open: bool) -> SiteVisit:
    assert state.site is not None
    s = index.sites[state.site]
    return SiteVisit(
        s.site_id, s.name, s.kind, s.kecamatan, state.enter_s, state.last_in_s, is_open
    )


@dataclass(frozen=True, slots=True)
class TripSummary:
    """Disposal trips; ``landfill_share`` is None without trips."""

    trips: int
    processing_trips: int
    landfill_trips: int
    landfill_share: float | None
    target_share: float
    processing_by_kecamatan: Mapping[str, int]

    @property
    def within_target(self) -> bool | None:
        return None if self.landfill_share is None else self.landfill_share <= self.target_share


@dataclass(frozen=True, slots=True)
class TripReport:
    per_truck: Mapping[str, TripSummary]
    fleet: TripSummary


def summarize_trips(
    visits: Iterable[SiteVisit], config: GeofenceConfig = DEFAULT_CONFIG
) -> TripSummary:
    """Count disposal trips among stays (depot stays are not trips)."""
    trips = [v for v in visits if v.is_disposal]
    landfill = sum(v.kind == "landfill" for v in trips)
    by_kec = Counter(v.kecamatan for v in trips if v.kind == "processing")
    share = landfill / len(trips) if trips else None
    return TripSummary(
        len(trips), len(trips) - landfill, landfill, share, config.landfill_target_share, by_kec
    )


def trip_report(
    visits_by_truck: Mapping[str, Sequence[SiteVisit]], config: GeofenceConfig = DEFAULT_CONFIG
) -> TripReport:
    """Trips per truck and for the fleet, for one day's stays."""
    per_truck = {truck: summarize_trips(v, config) for truck, v in visits_by_truck.items()}
    every = [v for visits in visits_by_truck.values() for v in visits]
    return TripReport(per_truck, summarize_trips(every, config))
