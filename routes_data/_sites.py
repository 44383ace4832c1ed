"""Synthetic geofences: the fleet depot, one TPS3R per kecamatan, and TPA Alak.

No site locations are available, so each is a rotated rectangle built around a street
node (its gate), which guarantees that trucks can drive in along the network.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from _geo import Boundaries
from _graph import Network
from shapely import Point, Polygon

__all__ = ["Site", "plan_sites"]

#: Where the synthetic sites go: depot in central Oebobo, the landfill in west Alak.
_DEPOT_KELURAHAN = "Oebobo"
_LANDFILL_KELURAHAN = "Manulai II"


@dataclass(frozen=True)
class Site:
    """A geofence polygon (UTM 51S) and the street node that serves as its gate."""

    site_id: str
    kind: str
    name: str
    kecamatan: str
    kelurahan: str
    gate: int
    polygon: Polygon


def _gate(net: Network, target: Point, min_degree: int) -> int:
    """Street node nearest to ``target`` with at least ``min_degree`` streets."""
    degree = np.array([len(a) for a in net.adjacency])
    dist = np.hypot(net.xy[:, 0] - target.x, net.xy[:, 1] - target.y)
    dist[degree < min_degree] = np.inf
    return int(np.argmin(dist))


def _fence(net: Network, gate: int, size_m: tuple[float, float], rng) -> Polygon:
    """A rotated rectangle around (not centred on) the gate node."""
    w, h = size_m
    angle = rng.uniform(0, np.pi)
    shift = rng.uniform(0, min(w, h) / 2 - 15.0)
    theta = rng.uniform(0, 2 * np.pi)
    cx = net.xy[gate, 0] + shift * np.cos(theta)
    cy = net.xy[gate, 1] + shift * np.sin(theta)
    corners = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return Polygon(corners @ rot.T + [cx, cy])


def _site(net, boundaries, kind, site_id, kelurahan, size_m, rng) -> Site:
    kel = boundaries.kelurahan
    i = list(kel["name"]).index(kelurahan)
    gate = _gate(net, boundaries.kelurahan_utm[i].representative_point(), 3)
    name = {
        "depot": "Depot Armada Kebersihan Oebobo",
        "processing": f"TPS3R {kelurahan}",
        "landfill": "TPA Alak",
    }[kind]
    kecamatan = str(kel["kecamatan"].iloc[i])
    return Site(site_id, kind, name, kecamatan, kelurahan, gate, _fence(net, gate, size_m, rng))


def plan_sites(net: Network, boundaries: Boundaries, seed: int) -> tuple[Site, ...]:
    """Depot first, then TPS3R-01..06 in kecamatan order, then the landfill."""
    rng = np.random.default_rng(seed + 3)
    sites = [_site(net, boundaries, "depot", "DEPOT-01", _DEPOT_KELURAHAN, (140, 110), rng)]
    kel = boundaries.kelurahan
    for n, kec in enumerate(boundaries.kecamatan["name"], start=1):
        names = [k for k in kel.loc[kel["kecamatan"] == kec, "name"] if k != _DEPOT_KELURAHAN]
        pick = names[int(rng.integers(len(names)))]
        size = (float(rng.uniform(85, 120)), float(rng.uniform(75, 100)))
        sites.append(_site(net, boundaries, "processing", f"TPS3R-{n:02d}", pick, size, rng))
    sites.append(_site(net, boundaries, "landfill", "TPA-01", _LANDFILL_KELURAHAN, (170, 130), rng))
    assert all(shapely.contains_xy(s.polygon, *net.xy[s.gate]) for s in sites)
    return tuple(sites)
