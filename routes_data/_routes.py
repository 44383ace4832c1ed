"""Collection routes: each truck sweeps one compact area of its kecamatan, street by street.

A kecamatan's streets are shared out among its trucks by growing compact regions from
k-means seeds (a capped multi-source Dijkstra), so routes of one kecamatan never overlap.
Each region is swept with Tarry's walk: every street exactly twice, once in each
direction (one pass per kerb), with U-turns at dead ends and loops around blocks. The
depot legs are shortest paths from and back to the depot gate.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
import shapely
from _graph import Network

__all__ = ["PlannedRoute", "depot_paths", "plan_kecamatan", "tarry_walk"]

#: Half the 10 km minimum collection length, plus a margin: every street is driven twice.
_MIN_STREET_M = 5_400.0


@dataclass(frozen=True)
class PlannedRoute:
    """A route as a node sequence; collection runs from node index ``start`` to ``end``."""

    kecamatan: str
    nodes: tuple[int, ...]
    start: int
    end: int
    region_edges: frozenset[int]


def depot_paths(net: Network, depot: int) -> tuple[np.ndarray, np.ndarray]:
    """Shortest-path distance (m) and predecessor of every node, from the depot gate."""
    dist = np.full(len(net.xy), np.inf)
    pred = np.full(len(net.xy), -1)
    dist[depot] = 0.0
    heap = [(0.0, depot)]
    while heap:
        d, v = heapq.heappop(heap)
        if d > dist[v]:
            continue
        for w, e in net.adjacency[v]:
            nd = d + net.length_m[e]
            if nd < dist[w]:
                dist[w], pred[w] = nd, v
                heapq.heappush(heap, (nd, w))
    return dist, pred


def _kmeans_seeds(xy: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Indices (into xy) of the points nearest k-means centres; dense areas get more."""
    centres = xy[rng.choice(len(xy), size=k, replace=False)]
    for _ in range(25):
        label = np.argmin(((xy[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
        centres = np.array(
            [xy[label == j].mean(0) if np.any(label == j) else centres[j] for j in range(k)]
        )
    return np.argmin(((xy[:, None, :] - centres[None]) ** 2).sum(-1), axis=0)


def _grow(net: Network, eligible: np.ndarray, owner: dict[int, int], starts, targets_m):
    """Claim nodes nearest-first from each region's start nodes until it holds its budget.

    ``owner`` (node -> region) is updated in place, so a second call can top up regions
    that were hemmed in by their neighbours.
    """
    street_m = [0.0] * len(starts)
    for e in np.nonzero(eligible)[0]:
        r = owner.get(int(net.edges[e, 0]), -1)
        if r >= 0 and owner.get(int(net.edges[e, 1])) == r:
            street_m[r] += net.length_m[e]
    heap = [(0.0, r, s) for r, nodes in enumerate(starts) for s in nodes]
    heapq.heapify(heap)
    while heap:
        d, r, v = heapq.heappop(heap)
        if street_m[r] >= targets_m[r] or owner.get(v, r) != r or (v in owner and d > 0):
            continue
        if v not in owner:
            owner[v] = r
            street_m[r] += sum(
                net.length_m[e] for w, e in net.adjacency[v] if eligible[e] and owner.get(w) == r
            )
        for w, e in net.adjacency[v]:
            if eligible[e] and w not in owner:
                heapq.heappush(heap, (d + net.length_m[e], r, w))
    return street_m


def _regions(net: Network, eligible: np.ndarray, seeds: list[int], targets_m: list[float]):
    """Disjoint connected edge sets, one per seed; short ones are topped up to the minimum."""
    owner: dict[int, int] = {}
    street_m = _grow(net, eligible, owner, [[s] for s in seeds], targets_m)
    short = [m < _MIN_STREET_M for m in street_m]
    if any(short):
        members = [
            [v for v, o in owner.items() if o == r] if short[r] else [] for r in range(len(seeds))
        ]
        _grow(net, eligible, owner, members, [max(t, _MIN_STREET_M) for t in targets_m])
    regions: list[set[int]] = [set() for _ in seeds]
    for e in np.nonzero(eligible)[0]:
        u, v = net.edges[e]
        if owner.get(int(u), -1) == owner.get(int(v), -2):
            regions[owner[int(u)]].add(int(e))
    return regions


def _turn(net: Network, a: int, b: int, c: int) -> float:
    """Absolute heading change (radians) driving a -> b -> c."""
    h1 = np.arctan2(*(net.xy[b] - net.xy[a])[::-1])
    h2 = np.arctan2(*(net.xy[c] - net.xy[b])[::-1])
    return float(abs((h2 - h1 + np.pi) % (2 * np.pi) - np.pi))


def tarry_walk(net: Network, region: frozenset[int], start: int) -> list[int]:
    """Closed walk from ``start`` driving every region edge once in each direction.

    Tarry's rule: never repeat an arc, and leave a node by the edge that first reached
    it only when nothing else is left. New nodes first, then the straightest way on.
    """
    used: set[tuple[int, int]] = set()
    entry: dict[int, int] = {start: -1}
    walk = [start]
    while True:
        v = walk[-1]
        options = [(w, e) for w, e in net.adjacency[v] if e in region and (v, w) not in used]
        if not options:
            break
        free = [o for o in options if o[1] != entry[v]] or options
        prev = walk[-2] if len(walk) > 1 else None
        w, e = min(
            free,
            key=lambda o: (o[0] in entry, _turn(net, prev, v, o[0]) if prev is not None else 0),
        )
        used.add((v, w))
        entry.setdefault(w, e)
        walk.append(w)
    assert walk[-1] == start and len(used) == 2 * len(region)
    return walk


def _path_to(pred: np.ndarray, node: int) -> list[int]:
    """Node sequence depot -> node along the shortest-path tree."""
    path = [node]
    while pred[path[-1]] >= 0:
        path.append(int(pred[path[-1]]))
    return path[::-1]


def plan_kecamatan(
    net: Network,
    kecamatan: str,
    polygon,
    count: int,
    depot: tuple[int, np.ndarray, np.ndarray],
    rng: np.random.Generator,
) -> list[PlannedRoute]:
    """Plan ``count`` non-overlapping routes inside one kecamatan polygon (UTM 51S)."""
    gate, dist, pred = depot
    lines = shapely.linestrings(net.xy[net.edges])
    eligible = shapely.covered_by(lines, polygon.buffer(1.0))
    nodes = np.unique(net.edges[eligible])
    total_m = float(net.length_m[eligible].sum())
    cap_m = 0.85 * total_m / count
    targets = [
        float(np.clip(rng.uniform(6.3, 10.8) * 1000, _MIN_STREET_M, cap_m)) for _ in range(count)
    ]
    for _ in range(20):
        seeds = nodes[_kmeans_seeds(net.xy[nodes], count, rng)].tolist()
        regions = _regions(net, eligible, seeds, targets)
        if min(net.length_m[sorted(r)].sum() for r in regions) >= _MIN_STREET_M:
            break
    else:
        raise RuntimeError(f"{kecamatan}: cannot fit {count} routes of the minimum length")
    routes = []
    for region in regions:
        members = np.unique(net.edges[sorted(region)])
        entry = int(members[np.argmin(dist[members])])
        sweep = tarry_walk(net, frozenset(region), entry)
        out = _path_to(pred, entry)
        nodes_seq = out + sweep[1:] + out[::-1][1:]
        start, end = len(out) - 1, len(out) - 1 + len(sweep) - 1
        routes.append(PlannedRoute(kecamatan, tuple(nodes_seq), start, end, frozenset(region)))
    return routes
