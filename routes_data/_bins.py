"""Bin locations along the collection part of each route, on the kerb side of one pass.

Indonesia drives on the left, so a bin sits 3-10 m to the left of the pass that serves
it; ``progress_m`` is that pass's measure along the route. Bins keep 30 m apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from _graph import Network
from _routes import PlannedRoute

__all__ = ["PlacedBin", "largest_remainder", "place_bins"]

_MIN_GAP_M = 30.0
_MIN_EDGE_M = 45.0
#: No bin in the roadway of another street.
_MIN_KERB_M = 2.9


@dataclass(frozen=True)
class PlacedBin:
    """One bin in UTM 51S, with its route (index), street edge and measure."""

    route: int
    edge: int
    x: float
    y: float
    progress_m: float


def largest_remainder(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` (Hamilton's method)."""
    share = np.asarray(weights, dtype=float) * total / float(np.sum(weights))
    counts = np.floor(share).astype(int)
    order = np.argsort(-(share - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts.tolist()


def _passes(net: Network, route: PlannedRoute) -> dict[tuple[int, int], float]:
    """Start measure (m) of each directed collection arc (u, v) of the route."""
    xy = net.xy[list(route.nodes)]
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
    return {
        (route.nodes[i], route.nodes[i + 1]): float(cum[i]) for i in range(route.start, route.end)
    }


def _route_bins(net, index, route, quota, placed, rng, streets) -> list[PlacedBin]:
    """Place ``quota`` bins on random region edges, rejecting any too close to others."""
    passes = _passes(net, route)
    entry = route.nodes[route.start]
    edges = [
        e
        for e in sorted(route.region_edges)
        if net.length_m[e] >= _MIN_EDGE_M and entry not in net.edges[e]
    ]
    bins: list[PlacedBin] = []
    for _ in range(4):
        for e in rng.permutation(edges).tolist():
            if len(bins) == quota:
                return bins
            u, v = net.edges[e].tolist()
            if rng.random() < 0.5:
                u, v = v, u
            a, b = net.xy[u], net.xy[v]
            along = (b - a) / net.length_m[e]
            f, offset = rng.uniform(0.25, 0.75), rng.uniform(3.0, 10.0)
            p = a + f * (b - a) + offset * np.array([-along[1], along[0]])
            if placed and np.min(np.hypot(*(np.array(placed) - p).T)) < _MIN_GAP_M:
                continue
            if len(streets.query(shapely.Point(p), predicate="dwithin", distance=_MIN_KERB_M)):
                continue
            placed.append(p)
            m = passes[(u, v)] + f * float(net.length_m[e])
            bins.append(PlacedBin(index, e, float(p[0]), float(p[1]), m))
    raise RuntimeError(f"route {index}: only {len(bins)} of {quota} bins fit")


def place_bins(
    net: Network, routes: list[PlannedRoute], quotas: list[int], seed: int
) -> list[PlacedBin]:
    """All bins, route by route, each route's bins in drive order."""
    rng = np.random.default_rng(seed + 7)
    placed: list[np.ndarray] = []
    result: list[PlacedBin] = []
    streets = shapely.STRtree(shapely.linestrings(net.xy[net.edges]))
    for i, (route, quota) in enumerate(zip(routes, quotas, strict=True)):
        bins = _route_bins(net, i, route, quota, placed, rng, streets)
        result.extend(sorted(bins, key=lambda b: b.progress_m))
    return result
