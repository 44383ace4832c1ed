"""The path a simulated truck drives in one day, in UTM 51S metres.

A day is a chain of legs: the planned route as drawn (depot leg, collection, run-out),
a straight run to the dump site, a straight run back to the route's depot leg, and that
depot leg driven backwards to the depot. The site runs are straight lines because the
reference data holds no streets between routes and sites; everything else follows the
route's own geometry. A skipped street replaces part of the route with a detour through
a parallel street, far enough off the route that a route matcher must notice it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from shapely import LineString, Point
from shapely.ops import substring

__all__ = ["DayPath", "Leg", "build_day_path"]

FloatArray = npt.NDArray[np.float64]

#: Lateral offsets tried for a detour's middle point, nearest first.
_DETOUR_OFFSETS_M = (150.0, 200.0, 250.0, 320.0, 400.0)
#: A detour must pass at least this far from every part of the route.
_DETOUR_CLEARANCE_M = 130.0


@dataclass(frozen=True)
class Leg:
    """One stretch of the day; ``progress_sign`` is +1 along the route, -1 backwards, 0 off it."""

    name: str
    line: LineString
    progress_start_m: float
    progress_sign: int
    straight: bool


@dataclass(frozen=True)
class DayPath:
    """All legs joined into one line; distances along it are "path metres"."""

    line: LineString
    legs: tuple[Leg, ...]
    leg_start_m: FloatArray
    site_m: float | None

    @property
    def length_m(self) -> float:
        return float(self.line.length)

    def leg_index(self, path_m: FloatArray) -> npt.NDArray[np.intp]:
        """The index of the leg each path distance falls in (a boundary belongs to the next)."""
        idx = np.searchsorted(self.leg_start_m, path_m, side="right") - 1
        return np.clip(idx, 0, len(self.legs) - 1)

    def route_progress(self, path_m: FloatArray) -> FloatArray:
        """Measure along the planned route for each path distance; NaN where off the route."""
        idx = self.leg_index(path_m)
        start = np.array([leg.progress_start_m for leg in self.legs])[idx]
        sign = np.array([leg.progress_sign for leg in self.legs], dtype=float)[idx]
        progress = start + sign * (path_m - self.leg_start_m[idx])
        return np.where(sign == 0, np.nan, progress)

    def path_m_of_progress(self, progress_m: FloatArray) -> FloatArray:
        """Where the truck first passes each route measure going forward; NaN if skipped."""
        out = np.full(len(progress_m), np.nan)
        for i, leg in enumerate(self.legs):
            if leg.progress_sign != 1:
                continue
            inside = (progress_m >= leg.progress_start_m) & (
                progress_m <= leg.progress_start_m + leg.line.length
            )
            fresh = inside & np.isnan(out)
            out[fresh] = self.leg_start_m[i] + progress_m[fresh] - leg.progress_start_m
        return out


def build_day_path(
    route: LineString,
    *,
    collection_start_m: float,
    collection_end_m: float,
    site: Point | None,
    skip_m: tuple[float, float] | None = None,
) -> DayPath:
    """Chain the legs of a day for a route given in metres (EPSG:32751).

    ``skip_m`` is a (from, to) range of route measures replaced by a detour; ``site`` is
    the dump site, or None for a truck that drives its route and stops at the depot.
    When the route returns to the depot after collection, the truck leaves that return
    leg where it passes closest to the site, dumps, and comes back to the same point.
    """
    length = float(route.length)
    end_m = float(np.clip(collection_end_m, 0.0, length))
    if site is None:
        legs = _forward(route, 0.0, length, "route", skip_m)
    elif end_m < length - 1.0:
        exit_m = end_m + substring(route, end_m, length).project(site)
        exit_point = route.interpolate(exit_m)
        legs = [
            *_forward(route, 0.0, end_m, "route", skip_m),
            *_forward(route, end_m, exit_m, "to_site", None),
            Leg("to_site", LineString([exit_point, site]), 0.0, 0, True),
            Leg("to_depot", LineString([site, exit_point]), 0.0, 0, True),
            *_forward(route, exit_m, length, "to_depot", None),
        ]
    else:
        legs = _forward(route, 0.0, length, "route", skip_m) + _back_by_depot_leg(
            route, collection_start_m, site
        )
    starts = np.concatenate([[0.0], np.cumsum([leg.line.length for leg in legs])[:-1]])
    dump = [i for i, leg in enumerate(legs) if leg.name == "to_site" and leg.straight]
    site_m = float(starts[dump[0]] + legs[dump[0]].line.length) if dump else None
    return DayPath(_join([leg.line for leg in legs]), tuple(legs), starts, site_m)


def _forward(
    route: LineString, a_m: float, b_m: float, name: str, skip_m: tuple[float, float] | None
) -> list[Leg]:
    """Route measures ``a_m`` to ``b_m`` driven forwards, detouring around ``skip_m``."""
    if b_m - a_m < 1.0:
        return []
    if skip_m is not None:
        lo, hi = sorted(float(np.clip(v, a_m + 1.0, b_m - 1.0)) for v in skip_m)
        if hi - lo >= 1.0:
            return [
                *_forward(route, a_m, lo, name, None),
                Leg("detour", _detour(route, lo, hi), 0.0, 0, False),
                *_forward(route, hi, b_m, name, None),
            ]
    return [Leg(name, substring(route, a_m, b_m), a_m, 1, False)]


def _detour(route: LineString, a_m: float, b_m: float) -> LineString:
    """A -> P -> B, with P beside the skipped stretch and clear of the whole route."""
    start, end = route.interpolate(a_m), route.interpolate(b_m)
    mid = route.interpolate((a_m + b_m) / 2.0)
    dx, dy = end.x - start.x, end.y - start.y
    norm = float(np.hypot(dx, dy)) or 1.0
    nx, ny = -dy / norm, dx / norm
    offsets = np.array([s * d for d in _DETOUR_OFFSETS_M for s in (1.0, -1.0)])
    candidates = shapely.points(mid.x + offsets * nx, mid.y + offsets * ny)
    clearance = shapely.distance(candidates, route)
    good = np.flatnonzero(clearance >= _DETOUR_CLEARANCE_M)
    best = int(good[0]) if len(good) else int(np.argmax(clearance))
    apex = candidates[best]
    return LineString([start, apex, end])


def _back_by_depot_leg(route: LineString, collection_start_m: float, site: Point) -> list[Leg]:
    """For a route that ends where collection ends: dump, then back along the depot leg."""
    end = Point(route.coords[-1])
    rejoin_m = float(np.clip(collection_start_m, 0.0, route.length))
    rejoin = route.interpolate(rejoin_m)
    legs = [
        Leg("to_site", LineString([end, site]), 0.0, 0, True),
        Leg("to_depot", LineString([site, rejoin]), 0.0, 0, True),
    ]
    if rejoin_m > 1.0:
        depot_leg = shapely.reverse(substring(route, 0.0, rejoin_m))
        legs.append(Leg("to_depot", depot_leg, rejoin_m, -1, False))
    return legs


def _join(lines: list[LineString]) -> LineString:
    coords = np.concatenate([shapely.get_coordinates(line) for line in lines])
    keep = np.ones(len(coords), dtype=bool)
    keep[1:] = np.any(np.diff(coords, axis=0) != 0.0, axis=1)
    coords = coords[keep]
    if len(coords) < 2:
        coords = np.vstack([coords, coords])
    return LineString(coords)
