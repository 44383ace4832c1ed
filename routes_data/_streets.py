"""A synthetic, connected street network inside Kupang's real kelurahan polygons.

There is no street data to start from, so each kelurahan gets its own jittered, partly
rotated grid (tighter where kelurahan are small, i.e. where people live closer together),
the grids are stitched across kelurahan borders, and a few arterials cross the city from
kecamatan to kecamatan. Everything is noded into one planar graph in UTM 51S metres.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from _geo import Boundaries
from _graph import Network, planar_graph
from _names import PRIMARY_NAMES, StreetNamer
from shapely import LineString, Point

__all__ = ["Network", "build_network"]

_MAIN_ROADS = (
    ("Kota Lama", "Oebobo"),
    ("Alak", "Kota Lama"),
    ("Kota Lama", "Kota Raja"),
    ("Kota Raja", "Oebobo"),
    ("Oebobo", "Kelapa Lima"),
    ("Oebobo", "Maulafa"),
    ("Kota Raja", "Maulafa"),
    ("Alak", "Maulafa"),
    ("Kelapa Lima", "Maulafa"),
)
#: Arterials from a kecamatan's built-up centre out to its outlying kelurahan.
_SPOKES = (("Alak", "Naioni"), ("Alak", "Namosain"), ("Maulafa", "Fatukoa"))


@dataclass
class _Sources:
    """Candidate street lines before noding; ``optional`` lines are kept only if needed."""

    geoms: list[LineString] = field(default_factory=list)
    name: list[str] = field(default_factory=list)
    road_class: list[str] = field(default_factory=list)
    optional: list[bool] = field(default_factory=list)

    def add(self, geom: LineString, name: str, road_class: str, optional: bool) -> None:
        self.geoms.append(geom)
        self.name.append(name)
        self.road_class.append(road_class)
        self.optional.append(optional)


def _spacing_m(area_km2: float) -> float:
    """Block size: ~85 m in the old town, up to ~280 m in the rural kelurahan."""
    return float(np.clip(70.0 + 45.0 * np.sqrt(area_km2), 85.0, 280.0))


def _lattice(poly, spacing_m: float, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Jittered, rotated lattice points covering the polygon: x, y, inside mask."""
    minx, miny, maxx, maxy = poly.bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    n = int(np.ceil(np.hypot(maxx - minx, maxy - miny) / 2 / spacing_m)) + 1
    idx = np.arange(-n, n + 1, dtype=float)
    u, v = np.meshgrid(idx, idx, indexing="ij")
    u = (u + rng.uniform(-0.22, 0.22, u.shape)) * spacing_m
    v = (v + rng.uniform(-0.22, 0.22, v.shape)) * spacing_m
    angle = np.deg2rad(18.0 + (rng.normal(0, 6) if rng.random() < 0.65 else rng.uniform(-45, 45)))
    x = cx + u * np.cos(angle) - v * np.sin(angle)
    y = cy + u * np.sin(angle) + v * np.cos(angle)
    return x, y, shapely.contains_xy(poly, x, y)


def _add_grid(src: _Sources, poly, area_km2: float, rng, namer: StreetNamer) -> None:
    """Add one kelurahan's grid; every lattice row and column is one named street."""
    spacing = _spacing_m(area_km2)
    x, y, inside = _lattice(poly, spacing, rng)
    drop_p = 0.05 if area_km2 < 1.0 else (0.12 if area_km2 < 4.0 else 0.25)
    inner = poly.buffer(0.5)
    offset = int(rng.integers(5))
    for axis in (0, 1):
        a = (slice(None, -1), slice(None)) if axis == 0 else (slice(None), slice(None, -1))
        b = (slice(1, None), slice(None)) if axis == 0 else (slice(None), slice(1, None))
        keep = inside[a] & inside[b]
        coords = np.stack([np.stack([x[a], y[a]], -1), np.stack([x[b], y[b]], -1)], axis=-2)[keep]
        lines = shapely.linestrings(coords)
        street_idx = np.nonzero(keep)[1 - axis]
        ok = shapely.covered_by(lines, inner)
        dropped = rng.random(len(lines)) < drop_p
        names: dict[int, tuple[str, str]] = {}
        for k in sorted(set(street_idx[ok].tolist())):
            major = area_km2 > 0.4 and (k + offset) % 6 == 0
            names[k] = (
                (namer.secondary(), "secondary") if major else (namer.residential(), "residential")
            )
        for line, k, good, drop in zip(lines, street_idx, ok, dropped, strict=True):
            if good:
                src.add(line, *names[int(k)], optional=bool(drop))


def _add_stitches(src: _Sources, kel_of: np.ndarray, city, spacing: np.ndarray) -> None:
    """Join neighbouring grids: each lattice node to the nearest node across the border."""
    owner = np.repeat(kel_of, 2)
    coords = shapely.get_coordinates(np.array(src.geoms))
    pts, first = np.unique(coords, axis=0, return_index=True)
    owner = owner[first]
    points = shapely.points(pts)
    tree = shapely.STRtree(points)
    reach = 1.25 * spacing[owner]
    left, right = tree.query(points, predicate="dwithin", distance=reach.max())
    dist = shapely.distance(points[left], points[right])
    ok = (owner[left] != owner[right]) & (dist <= reach[left]) & (left < right)
    left, right, dist = left[ok], right[ok], dist[ok]
    order = np.lexsort((dist, left))
    left, right = left[order], right[order]
    best = np.unique(left, return_index=True)[1]
    segs = shapely.linestrings(np.stack([pts[left[best]], pts[right[best]]], axis=1))
    lines_tree = shapely.STRtree(np.array(src.geoms))
    crossing = np.unique(lines_tree.query(segs, predicate="crosses")[0])
    good = shapely.covered_by(segs, city.buffer(2.0))
    good[crossing] = False
    # A stitch continues the street it starts from, so it inherits that street's name.
    named = {}
    for geom, name, cls in zip(src.geoms, src.name, src.road_class, strict=True):
        for xy in shapely.get_coordinates(geom):
            named.setdefault(tuple(xy), (name, cls))
    for seg in segs[good]:
        src.add(seg, *named[tuple(shapely.get_coordinates(seg)[0])], optional=False)


def _anchor(boundaries: Boundaries, kecamatan: str) -> Point:
    """Built-up centre of a kecamatan: kelurahan centroids weighted by 1/area."""
    kel = boundaries.kelurahan
    idx = np.nonzero((kel["kecamatan"] == kecamatan).to_numpy())[0]
    polys = [boundaries.kelurahan_utm[i] for i in idx]
    w = 1.0 / np.array([p.area for p in polys])
    c = shapely.get_coordinates([p.representative_point() for p in polys])
    point = Point(*(c * w[:, None]).sum(0) / w.sum())
    kec_poly = boundaries.kecamatan_utm[list(boundaries.kecamatan["name"]).index(kecamatan)]
    if not kec_poly.contains(point):
        point = shapely.ops.nearest_points(kec_poly.buffer(-50), point)[0]
    return point


def _wavy_road(a: Point, b: Point, rng: np.random.Generator) -> LineString:
    """A gently curving polyline from a to b with vertices every ~350 m."""
    d = np.array([b.x - a.x, b.y - a.y])
    length = float(np.hypot(*d))
    t = np.linspace(0.0, 1.0, max(3, int(length / 350)) + 1)
    normal = np.array([-d[1], d[0]]) / length
    bend = rng.uniform(-0.08, 0.08) * length * np.sin(np.pi * t)
    wobble = rng.normal(0, 12, t.shape) * (t > 0) * (t < 1)
    pts = np.array([a.x, a.y]) + t[:, None] * d + (bend + wobble)[:, None] * normal
    return LineString(pts)


def _add_main_roads(src: _Sources, boundaries: Boundaries, rng) -> None:
    """Arterials between kecamatan centres, clipped to land."""
    land = boundaries.city_utm.buffer(-5.0)
    kel_names = list(boundaries.kelurahan["name"])
    pairs = [(_anchor(boundaries, a), _anchor(boundaries, b)) for a, b in _MAIN_ROADS]
    for kec, kel in _SPOKES:
        far = boundaries.kelurahan_utm[kel_names.index(kel)].representative_point()
        pairs.append((_anchor(boundaries, kec), far))
    for (a, b), name in zip(pairs, PRIMARY_NAMES, strict=False):
        clipped = _wavy_road(a, b, rng).intersection(land)
        for part in shapely.get_parts(shapely.line_merge(clipped)):
            if part.geom_type == "LineString" and part.length > 50:
                src.add(part, name, "primary", optional=False)


def build_network(boundaries: Boundaries, seed: int) -> Network:
    """Generate the whole synthetic network for the city, deterministically from ``seed``."""
    rng = np.random.default_rng(seed)
    namer = StreetNamer(np.random.default_rng(seed + 1))
    src = _Sources()
    owners: list[int] = []
    areas = np.array([p.area / 1e6 for p in boundaries.kelurahan_utm])
    for i, poly in enumerate(boundaries.kelurahan_utm):
        before = len(src.geoms)
        _add_grid(src, poly, float(areas[i]), rng, namer)
        owners.extend([i] * (len(src.geoms) - before))
    spacing = np.array([_spacing_m(a) for a in areas])
    _add_stitches(src, np.array(owners), boundaries.city_utm, spacing)
    _add_main_roads(src, boundaries, rng)
    return planar_graph(
        np.array(src.geoms), src.name, src.road_class, np.array(src.optional), boundaries
    )
