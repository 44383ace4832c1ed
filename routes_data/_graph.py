"""Turn candidate street lines into one connected planar graph with per-edge attributes.

Noding splits lines where they cross, so every crossing is a junction; nodes closer than
a few metres are merged, coordinates are snapped to the 6-decimal lon/lat grid the files
use, and only the largest connected piece is kept (optional lines only where they join).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from _geo import Boundaries, lonlat_to_utm, utm_to_lonlat

__all__ = ["Network", "planar_graph"]

_MERGE_BELOW_M = 4.0
_CLASS_RANK = {"primary": 0, "secondary": 1, "residential": 2}


@dataclass(frozen=True)
class Network:
    """Street graph: nodes in UTM and rounded lon/lat, undirected edges with attributes."""

    xy: np.ndarray
    lonlat: np.ndarray
    edges: np.ndarray
    length_m: np.ndarray
    name: tuple[str, ...]
    road_class: tuple[str, ...]
    kelurahan: tuple[str, ...]
    kecamatan: tuple[str, ...]
    adjacency: tuple[tuple[tuple[int, int], ...], ...] = field(repr=False)


class _Forest:
    """Union-find; the smallest id represents its set so results never depend on order."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self.parent[max(ra, rb)] = min(ra, rb)
        return True


def _segments(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Node all lines together; return 2-point segments (a, b) and their source line."""
    noded = shapely.get_parts(shapely.node(shapely.multilinestrings(geoms)))
    coords, idx = shapely.get_coordinates(noded, return_index=True)
    same = idx[:-1] == idx[1:]
    a, b = coords[:-1][same], coords[1:][same]
    mids = shapely.points((a + b) / 2)
    pair = shapely.STRtree(geoms).query_nearest(mids, all_matches=False)
    source = np.empty(len(a), dtype=int)
    source[pair[0]] = pair[1]
    return a, b, source


def _snap_nodes(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge nodes joined by very short segments, then snap to the file's lon/lat grid."""
    xy, inv = np.unique(np.vstack([a, b]), axis=0, return_inverse=True)
    u, v = inv[: len(a)], inv[len(a) :]
    forest = _Forest(len(xy))
    for i in np.nonzero(np.hypot(*(a - b).T) < _MERGE_BELOW_M)[0]:
        forest.union(int(u[i]), int(v[i]))
    rep = np.array([forest.find(i) for i in range(len(xy))])
    lonlat, final = np.unique(utm_to_lonlat(xy[rep]), axis=0, return_inverse=True)
    return lonlat, np.stack([final[u], final[v]], axis=1)


def _connected(edges: np.ndarray, optional: np.ndarray, n: int) -> np.ndarray:
    """Keep-mask: mandatory edges plus optional ones that join pieces, largest piece only."""
    forest = _Forest(n)
    keep = ~optional
    for u, v in edges[keep]:
        forest.union(int(u), int(v))
    for i in np.nonzero(optional)[0]:
        keep[i] = forest.union(int(edges[i, 0]), int(edges[i, 1]))
    root = np.array([forest.find(int(u)) for u in edges[:, 0]])
    sizes = np.bincount(root[keep], minlength=n)
    return keep & (root == int(np.argmax(sizes)))


def _kelurahan_of(mids: np.ndarray, boundaries: Boundaries) -> np.ndarray:
    """Index of the kelurahan holding each midpoint (nearest one for the few on the coast)."""
    which = np.full(len(mids), -1)
    for i, poly in enumerate(boundaries.kelurahan_utm):
        which[(which < 0) & shapely.contains_xy(poly, mids[:, 0], mids[:, 1])] = i
    lost = np.nonzero(which < 0)[0]
    if len(lost):
        tree = shapely.STRtree(np.array(boundaries.kelurahan_utm, dtype=object))
        pair = tree.query_nearest(shapely.points(mids[lost]), all_matches=False)
        which[lost[pair[0]]] = pair[1]
    return which


def _distinct(edges: np.ndarray, source: np.ndarray, classes: list[str]):
    """Drop loops and duplicate edges; of two overlapping lines the higher class wins."""
    rank = np.array([_CLASS_RANK[classes[s]] for s in source])
    edges = np.sort(edges, axis=1)
    order = np.lexsort((rank, edges[:, 1], edges[:, 0]))
    edges, source = edges[order], source[order]
    first = np.unique(edges, axis=0, return_index=True)[1]
    first = first[edges[first, 0] != edges[first, 1]]
    return edges[first], source[first]


def planar_graph(
    geoms: np.ndarray,
    names: list[str],
    classes: list[str],
    optional: np.ndarray,
    boundaries: Boundaries,
) -> Network:
    """Build the street graph from candidate lines (UTM 51S metres)."""
    a, b, source = _segments(geoms)
    lonlat, edges = _snap_nodes(a, b)
    edges, source = _distinct(edges, source, classes)
    keep = _connected(edges, optional[source], len(lonlat))
    edges, source = edges[keep], source[keep]
    used, edges = np.unique(edges, return_inverse=True)
    edges = edges.reshape(-1, 2)
    lonlat = lonlat[used]
    xy = lonlat_to_utm(lonlat)
    kel = _kelurahan_of((xy[edges[:, 0]] + xy[edges[:, 1]]) / 2, boundaries)
    kel_kode = boundaries.kelurahan["kode"].to_numpy()
    edge_names = np.array([names[s] for s in source])
    order = np.lexsort((edges[:, 1], edges[:, 0], edge_names, kel_kode[kel]))
    edges, source, kel = edges[order], source[order], kel[order]
    adjacency: list[list[tuple[int, int]]] = [[] for _ in range(len(xy))]
    for e, (u, v) in enumerate(edges.tolist()):
        adjacency[u].append((v, e))
        adjacency[v].append((u, e))
    kel_names = boundaries.kelurahan["name"].to_numpy()
    kec_names = boundaries.kelurahan["kecamatan"].to_numpy()
    return Network(
        xy=xy,
        lonlat=lonlat,
        edges=edges,
        length_m=np.hypot(*(xy[edges[:, 0]] - xy[edges[:, 1]]).T),
        name=tuple(names[s] for s in source),
        road_class=tuple(classes[s] for s in source),
        kelurahan=tuple(kel_names[kel].tolist()),
        kecamatan=tuple(kec_names[kel].tolist()),
        adjacency=tuple(tuple(n) for n in adjacency),
    )
