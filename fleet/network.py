"""Planned routes in metric form, with the spatial indexes the matcher needs.

A :class:`RouteGeometry` is built once per route (projecting, segment arrays and an
``STRtree`` cost far more than a match; the segment grids that batch matching queries,
:mod:`fleet._route_grid`, are built on first use), and a :class:`RouteNetwork` holds
all of them, keyed by a version hash so that callers rebuild only when routes change.

Coordinates: inputs and outputs named ``lon, lat`` are WGS84 degrees; ``x, y`` are
UTM 51S metres (:mod:`fleet.geo`); ``*_m`` measures are metres along the route from its
first vertex, in drive order.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from math import sqrt

import numpy as np
import numpy.typing as npt
import shapely
from shapely import LineString, STRtree

from fleet._route_grid import SegmentGrid, nearest_pairs, segment_distance_m
from fleet.geo import to_lonlat, to_metric

__all__ = ["Candidates", "RouteGeometry", "RouteNetwork"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Grid cell sizes: a fix's gate picks the first that is at least as large.
_REACHES_M = 2.0 ** np.arange(6, 21)
#: Fewer points than this are measured through the tree (less NumPy call overhead).
_TREE_MAX_POINTS = 16


@dataclass(frozen=True, slots=True)
class Candidates:
    """Local minima of the fix-to-route distance, one row each, sorted by fix then measure.

    A pass of the route near a fix gives one candidate (the nearest point of that pass),
    so a street driven twice gives two; that is what lets the matcher tell passes apart.
    """

    fix: IntArray
    progress_m: FloatArray
    offset_m: FloatArray


@dataclass(frozen=True, eq=False)
class RouteGeometry:
    """One planned route: its lon/lat line, metric vertices, per-segment arrays, index."""

    route_id: str
    line: LineString
    x: FloatArray
    y: FloatArray
    cum_m: FloatArray
    seg_dx: FloatArray
    seg_dy: FloatArray
    seg_len: FloatArray
    tree: STRtree
    _py: tuple[list[float], ...] = field(repr=False)
    _grids: dict[float, SegmentGrid] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, route_id: str, line: LineString) -> RouteGeometry:
        """Project a lon/lat LineString (drive order) and index its segments."""
        lon, lat = shapely.get_coordinates(line).T
        x, y = to_metric(lon, lat)
        keep = np.r_[True, (np.diff(x) != 0) | (np.diff(y) != 0)]
        x, y = _drop_straight(x[keep], y[keep])
        if len(x) < 2:
            raise ValueError(f"route {route_id}: needs two distinct vertices")
        dx, dy = np.diff(x), np.diff(y)
        seg_len = np.sqrt(dx * dx + dy * dy)
        cum = np.r_[0.0, np.cumsum(seg_len)]
        segs = shapely.linestrings(np.stack([np.c_[x[:-1], y[:-1]], np.c_[x[1:], y[1:]]], 1))
        inv_len2 = 1.0 / (seg_len * seg_len)
        py = tuple(a.tolist() for a in (x, y, cum, dx, dy, seg_len, inv_len2))
        return cls(route_id, line, x, y, cum, dx, dy, seg_len, STRtree(segs), py)

    @property
    def length_m(self) -> float:
        return float(self.cum_m[-1])

    def xy_at_scalar(self, progress_m: float) -> tuple[float, float]:
        """Plain-float twin of :meth:`xy_at` for the live path (same arithmetic)."""
        x, y, cum, dx, dy, ln, _ = self._py
        m = min(max(progress_m, 0.0), cum[-1])
        j = min(max(bisect_right(cum, m) - 1, 0), len(ln) - 1)
        f = (m - cum[j]) / ln[j]
        return x[j] + f * dx[j], y[j] + f * dy[j]

    def xy_at(self, progress_m: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Metric point(s) at ``progress_m`` metres along the route (clamped to its ends)."""
        m = np.clip(np.asarray(progress_m, dtype=float), 0.0, self.length_m)
        j = np.clip(np.searchsorted(self.cum_m, m, side="right") - 1, 0, len(self.seg_len) - 1)
        f = (m - self.cum_m[j]) / self.seg_len[j]
        return self.x[j] + f * self.seg_dx[j], self.y[j] + f * self.seg_dy[j]

    def lonlat_at(self, progress_m: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """WGS84 point(s) at ``progress_m``: where a snapped fix is drawn."""
        return to_lonlat(*self.xy_at(progress_m))

    def stretch(self, from_m: float, to_m: float) -> LineString:
        """Lon/lat geometry of the route between two measures: a stretch driven."""
        lo, hi = sorted((max(0.0, from_m), min(self.length_m, to_m)))
        inner = (self.cum_m > lo) & (self.cum_m < hi)
        m = np.r_[lo, self.cum_m[inner], hi]
        lon, lat = self.lonlat_at(m)
        return LineString(np.c_[lon, lat])

    def distance_m(self, x: npt.ArrayLike, y: npt.ArrayLike) -> FloatArray:
        """Distance in metres from metric point(s) to the nearest point of the route.

        A few points go through the tree; many at once are measured on the segments
        that :func:`nearest_pairs` keeps for them, which is far cheaper per point. Both
        give GEOS's numbers bit for bit (same formula, tested).
        """
        x, y = np.atleast_1d(np.asarray(x, dtype=float)), np.atleast_1d(np.asarray(y, dtype=float))
        if len(x) < _TREE_MAX_POINTS:
            return self._tree_distance_m(x, y)
        fi, sj = nearest_pairs(x, y, self.x, self.y)
        first = np.flatnonzero(np.r_[True, fi[1:] != fi[:-1]])
        return np.minimum.reduceat(segment_distance_m(self.x, self.y, x[fi], y[fi], sj), first)

    def _tree_distance_m(self, x: FloatArray, y: FloatArray) -> FloatArray:
        pts = shapely.points(x, y)
        _, dist = self.tree.query_nearest(pts, return_distance=True, all_matches=False)
        return np.asarray(dist, dtype=float)

    def candidates(self, x: FloatArray, y: FloatArray, gate_m: npt.ArrayLike) -> Candidates:
        """All candidates within ``gate_m`` (one, or one per fix) of each metric fix.

        Pairs come from the grid sorted by fix, then segment; a segment's candidate
        measures lie within it, so that is also the order by measure. Fixes whose gates
        need different grids are matched class by class; their candidates (a third of
        the pairs) are then merged back into fix order.
        """
        gate = np.broadcast_to(np.asarray(gate_m, dtype=float), np.shape(x))
        if len(x) == 0:
            return Candidates(np.empty(0, np.int64), np.empty(0), np.empty(0))
        reach = _REACHES_M[np.minimum(np.searchsorted(_REACHES_M, gate), len(_REACHES_M) - 1)]
        lo, hi = float(reach.min()), float(reach.max())
        if lo == hi:
            return self._class_candidates(x, y, gate, lo)
        parts = []
        for r in np.unique(reach).tolist():
            at = np.flatnonzero(reach == r)
            part = self._class_candidates(x[at], y[at], gate[at], r)
            parts.append(Candidates(at[part.fix], part.progress_m, part.offset_m))
        fix = np.concatenate([c.fix for c in parts])
        # A fix's candidates all come from one class, in measure order: a stable sort
        # by fix keeps them so (and merges the classes' sorted runs in linear time).
        order = np.argsort(fix, kind="stable")
        return Candidates(
            fix[order],
            np.concatenate([c.progress_m for c in parts])[order],
            np.concatenate([c.offset_m for c in parts])[order],
        )

    def _class_candidates(
        self, x: FloatArray, y: FloatArray, gate: FloatArray, reach_m: float
    ) -> Candidates:
        """Candidates of fixes whose gates all fit the grid for ``reach_m``."""
        fi, sj, _ = self._grid(reach_m).pairs(x, y)
        at, m, d = _project(self, x[fi], y[fi], sj)
        keep = d <= gate[fi[at]]
        return Candidates(fi[at[keep]], m[keep], d[keep])

    def _grid(self, reach_m: float) -> SegmentGrid:
        """The grid for gates up to ``reach_m``, built on first use (a few ms)."""
        grid = self._grids.get(reach_m)
        if grid is None:
            grid = self._grids[reach_m] = SegmentGrid.build(self.x, self.y, reach_m)
        return grid

    def window_candidates(
        self, px: float, py: float, lo_m: float, hi_m: float, gate_m: float
    ) -> tuple[list[float], list[float]]:
        """Candidates (``progress_m`` list, ``offset_m`` list) of one fix on the segments
        overlapping a measure window, sorted by measure.

        Plain floats on a handful of segments: the live path, where NumPy's per-call
        overhead would cost more than the arithmetic. Same formulas, in the same order,
        as :meth:`candidates`, so both give identical numbers.
        """
        x, y, cum, dx, dy, ln, il2 = self._py
        last = len(ln) - 1
        ms: list[float] = []
        ds: list[float] = []
        for j in range(max(bisect_left(cum, lo_m) - 1, 0), min(bisect_right(cum, hi_m), last + 1)):
            ax, ay = px - x[j], py - y[j]
            t = (ax * dx[j] + ay * dy[j]) * il2[j]
            if 0.0 < t < 1.0:
                m, d = cum[j] + t * ln[j], abs(ax * dy[j] - ay * dx[j]) / ln[j]
            elif t <= 0.0:
                if (
                    j > 0
                    and ((px - x[j - 1]) * dx[j - 1] + (py - y[j - 1]) * dy[j - 1]) * il2[j - 1]
                    < 1.0
                ):
                    continue
                m, d = cum[j], sqrt(ax * ax + ay * ay)
            elif j == last:
                bx, by = px - x[j + 1], py - y[j + 1]
                m, d = cum[j + 1], sqrt(bx * bx + by * by)
            else:
                continue
            if d <= gate_m:
                ms.append(m)
                ds.append(d)
        return ms, ds


def _drop_straight(
    x: FloatArray, y: FloatArray, tol_m: float = 1e-3
) -> tuple[FloatArray, FloatArray]:
    """Vertices without those inside a straight run (every dropped one within ``tol_m``).

    Drawn routes often have a vertex every few metres along straight streets; each
    fix then meets dozens of segments. Measures stay exact to ``tol_m``, and a vertex
    where the route turns back (a U-turn on the same line) is always kept.
    """
    keep = [0]
    a, n = 0, len(x)
    for b in range(2, n + 1):
        if b == n or not _straight(x, y, a, b, tol_m):
            keep.append(b - 1)
            a = b - 1
    return x[keep], y[keep]


def _straight(x: FloatArray, y: FloatArray, a: int, b: int, tol_m: float) -> bool:
    """Whether vertices a+1..b-1 lie on segment a-b, in order, within ``tol_m``."""
    dx, dy = x[b] - x[a], y[b] - y[a]
    length = sqrt(dx * dx + dy * dy)
    if length == 0.0:
        return False
    px, py = x[a + 1 : b] - x[a], y[a + 1 : b] - y[a]
    along = (px * dx + py * dy) / length
    off = np.abs(px * dy - py * dx) / length
    return bool(np.all(off <= tol_m) and np.all(np.diff(np.r_[0.0, along, length]) > 0.0))


def _project(
    route: RouteGeometry, px: FloatArray, py: FloatArray, j: IntArray
) -> tuple[IntArray, FloatArray, FloatArray]:
    """Vectorized twin of :meth:`RouteGeometry.window_candidates` over (fix, segment) pairs:
    the pairs that are local minima of distance along the measure (index, measure, distance).

    The previous segment is looked at only where the fix projects before this one's
    start; measure and distance are computed for the minima only (about half the pairs).
    """
    x, y, cum, dx, dy, ln = route.x, route.y, route.cum_m, route.seg_dx, route.seg_dy, route.seg_len
    il2 = 1.0 / (ln * ln)
    ax, ay = px - x[j], py - y[j]
    t = (ax * dx[j] + ay * dy[j]) * il2[j]
    start = t <= 0.0
    back = np.flatnonzero(start & (j > 0))
    jp, bpx, bpy = j[back] - 1, px[back], py[back]
    start[back] = ((bpx - x[jp]) * dx[jp] + (bpy - y[jp]) * dy[jp]) * il2[jp] >= 1.0
    interior = (t > 0.0) & (t < 1.0)
    end = (t >= 1.0) & (j == len(ln) - 1)
    at = np.flatnonzero(interior | start | end)
    m, d = np.empty(len(at)), np.empty(len(at))
    inner, k = interior[at], j[at]
    i_at, i_k = at[inner], k[inner]
    lnk = ln[i_k]
    m[inner] = cum[i_k] + t[i_at] * lnk
    d[inner] = np.abs(ax[i_at] * dy[i_k] - ay[i_at] * dx[i_k]) / lnk
    tip = ~inner
    e_at, e_k = at[tip], k[tip]
    last = end[e_at]
    m[tip] = np.where(last, cum[e_k + 1], cum[e_k])
    bx = np.where(last, px[e_at] - x[e_k + 1], ax[e_at])
    by = np.where(last, py[e_at] - y[e_k + 1], ay[e_at])
    d[tip] = np.sqrt(bx * bx + by * by)
    return at, m, d


@dataclass(frozen=True, eq=False)
class RouteNetwork:
    """All planned routes by ``route_id``; ``version`` changes iff any geometry does."""

    routes: Mapping[str, RouteGeometry]
    version: str

    @classmethod
    def build(
        cls, routes: Mapping[str, LineString] | Iterable[tuple[str, LineString]]
    ) -> RouteNetwork:
        """Build every route's geometry and indexes (start-up, or after routes change)."""
        items = sorted(dict(routes).items())
        return cls({rid: RouteGeometry.build(rid, line) for rid, line in items}, _version(items))

    def refreshed(self, routes: Mapping[str, LineString]) -> RouteNetwork:
        """This network if ``routes`` are unchanged, else a freshly built one."""
        if _version(sorted(routes.items())) == self.version:
            return self
        return RouteNetwork.build(routes)

    def __getitem__(self, route_id: str) -> RouteGeometry:
        return self.routes[route_id]

    def __contains__(self, route_id: object) -> bool:
        return route_id in self.routes


def _version(items: list[tuple[str, LineString]]) -> str:
    h = hashlib.sha1()
    for rid, line in items:
        h.update(rid.encode() + b"\0" + shapely.to_wkb(line) + b"\0")
    return h.hexdigest()
