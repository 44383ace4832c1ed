"""Synthetic streets, garbage-truck routes over them, and true + GPS traces.

Used by ``bench_snap.py`` and the snapping tests. Routes are built to contain what
makes real collection routes hard to match: streets driven twice (a block looped
twice, both sides of a street), dead-end out-and-backs, U-turns mid-street and
self-crossings. Everything is in UTM 51S metres around central Kupang; ``export_osm``
and ``export_trace_csv`` write the network and traces for peer matchers later.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import numpy.typing as npt
import shapely

from fleet.geo import to_lonlat, to_metric
from fleet.network import RouteGeometry

FloatArray = npt.NDArray[np.float64]
ORIGIN_XY = tuple(float(v) for v in to_metric(123.6, -10.17))


@dataclass(frozen=True)
class Streets:
    """A jittered street grid with dead-end spurs: node xy and undirected edges."""

    xy: FloatArray
    edges: dict[frozenset[int], int]
    neighbours: dict[int, list[int]]
    spurs: frozenset[int]


@dataclass(frozen=True)
class SimRoute:
    """A planned route and the street edge under each stretch of it, by measure."""

    geometry: RouteGeometry
    edge_from_m: FloatArray
    edge_id: npt.NDArray[np.int64]

    def edge_at(self, progress_m: FloatArray) -> npt.NDArray[np.int64]:
        k = np.searchsorted(self.edge_from_m, progress_m, side="right") - 1
        return self.edge_id[np.clip(k, 0, len(self.edge_id) - 1)]


@dataclass(frozen=True)
class Trace:
    """A drive along a route: truth per fix, and the GPS fixes as a device sends them."""

    t_s: FloatArray
    true_progress_m: FloatArray
    true_x: FloatArray
    true_y: FloatArray
    true_off: npt.NDArray[np.bool_]
    lon: FloatArray
    lat: FloatArray
    speed_mps: FloatArray
    outlier: npt.NDArray[np.bool_]
    detour: npt.NDArray[np.bool_]
    accuracy_m: FloatArray | None = None


def street_grid(rng: np.random.Generator, nx: int = 12, ny: int = 12) -> Streets:
    """Blocks of 90-160 m, some streets missing, and dead ends sticking out."""
    gx = np.cumsum(rng.uniform(90, 160, nx))
    gy = np.cumsum(rng.uniform(90, 160, ny))
    xy = np.array([(x, y) for y in gy for x in gx]) + rng.normal(0, 8, (nx * ny, 2))
    nbr: dict[int, list[int]] = {i: [] for i in range(nx * ny)}
    for i in range(nx * ny):
        r, c = divmod(i, nx)
        for j in ([i + 1] if c + 1 < nx else []) + ([i + nx] if r + 1 < ny else []):
            if rng.random() > 0.08:
                nbr[i].append(j)
                nbr[j].append(i)
    spurs = []
    for i in rng.choice(nx * ny, nx * ny // 5, replace=False):
        ang = rng.uniform(0, 2 * np.pi)
        end = xy[i] + rng.uniform(70, 180) * np.array([np.cos(ang), np.sin(ang)])
        xy = np.vstack([xy, end])
        k = len(xy) - 1
        nbr[i].append(k)
        nbr[k] = [i]
        spurs.append(k)
    edges = {frozenset((a, b)): 0 for a in nbr for b in nbr[a]}
    edges = {e: n for n, e in enumerate(sorted(edges, key=sorted))}
    return Streets(xy + ORIGIN_XY, edges, nbr, frozenset(spurs))


def plan_route(
    streets: Streets, rng: np.random.Generator, route_id: str, length_m: float = 9000.0
) -> SimRoute:
    """A drive-order route with loops twice, out-and-backs, U-turns and crossings."""
    pts: list[FloatArray] = []
    labels: list[int] = []
    node = int(rng.choice([n for n in streets.neighbours if n not in streets.spurs]))
    prev = -1
    total = 0.0
    while total < length_m:
        pieces, node, prev = _moves(streets, node, prev, rng)
        for a, b, f0, f1 in pieces:
            pa, pb = streets.xy[a], streets.xy[b]
            start, end = pa + f0 * (pb - pa), pa + f1 * (pb - pa)
            n = max(2, int(np.hypot(*(end - start)) / 5.0))
            pts.append(np.linspace(start, end, n)[:-1])
            labels.extend([streets.edges[frozenset((a, b))]] * (n - 1))
            total += float(np.hypot(*(end - start)))
    xy = np.vstack([*pts, streets.xy[node]])
    seg_m = np.hypot(*np.diff(xy, axis=0).T)
    starts = np.r_[0.0, np.cumsum(seg_m)[:-1]]
    lon, lat = to_lonlat(xy[:, 0], xy[:, 1])
    geom = RouteGeometry.build(route_id, shapely.LineString(np.c_[lon, lat]))
    nonzero = seg_m > 0
    return SimRoute(geom, starts[nonzero], np.asarray(labels, dtype=np.int64)[nonzero])


def _moves(
    streets: Streets, node: int, prev: int, rng: np.random.Generator
) -> tuple[list[tuple[int, int, float, float]], int, int]:
    """Next piece of route: edge pieces (from, to, start and end fraction), new node, prev."""
    nbr = streets.neighbours[node]
    spur = [n for n in nbr if n in streets.spurs]
    ahead = [n for n in nbr if n != prev and n not in streets.spurs] or nbr
    nxt = int(rng.choice(ahead))
    roll = rng.random()
    if spur and roll < 0.5:  # down the dead end and back
        return [(node, spur[0], 0.0, 1.0), (node, spur[0], 1.0, 0.0)], node, spur[0]
    if roll < 0.08:  # U-turn halfway down the street
        f = float(rng.uniform(0.3, 0.7))
        return [(node, nxt, 0.0, f), (node, nxt, f, 0.0)], node, nxt
    if roll < 0.14:  # the other side of the street
        return [(node, nxt, 0.0, 1.0), (node, nxt, 1.0, 0.0)], node, nxt
    return [(node, nxt, 0.0, 1.0)], nxt, node


def drive(
    route: SimRoute,
    rng: np.random.Generator,
    sample_s: float = 1.0,
    sigma_m: float = 15.0,
    outlier_rate: float = 0.002,
    detour: bool = True,
    off_route_m: float = 50.0,
) -> Trace:
    """Drive the route at 15-40 km/h with stops at bins; sample GPS every ``sample_s``."""
    geom = route.geometry
    m, dt = _kinematics(geom.length_m, rng)
    x, y = geom.xy_at(m)
    away = np.zeros(len(m), dtype=bool)
    if detour:
        x, y, m, away = _add_detour(geom, x, y, m, rng)
    t = np.arange(len(m)) * dt
    # What the device reports is its ground speed at the fix (Doppler): the truck's
    # own motion, on the detour too, not an average over the sampling interval.
    ground = np.hypot(np.gradient(x, dt), np.gradient(y, dt))
    pick = np.arange(0, len(m), int(round(sample_s / dt)))
    t, m, x, y, away, ground = t[pick], m[pick], x[pick], y[pick], away[pick], ground[pick]
    true_off = geom.distance_m(x, y) > off_route_m
    nx, ny = x + rng.normal(0, sigma_m, len(x)), y + rng.normal(0, sigma_m, len(y))
    outlier = rng.random(len(x)) < outlier_rate
    ang = rng.uniform(0, 2 * np.pi, outlier.sum())
    nx[outlier] += 150.0 * np.cos(ang)
    ny[outlier] += 150.0 * np.sin(ang)
    lon, lat = to_lonlat(nx, ny)
    speed = ground + rng.normal(0, 0.3, len(t))
    acc = np.full(len(t), sigma_m)
    return Trace(t, m, x, y, true_off, lon, lat, np.maximum(speed, 0.0), outlier, away, acc)


def _kinematics(length_m: float, rng: np.random.Generator) -> tuple[FloatArray, float]:
    """Progress every 0.5 s: cruise 15-40 km/h, 1 m/s^2, stop 10-40 s at bins."""
    dt, accel = 0.5, 1.0
    stops = np.cumsum(rng.uniform(40, 250, int(length_m / 40) + 2))
    out, m, v, k, dwell = [0.0], 0.0, 0.0, 0, 0.0
    cruise = rng.uniform(15, 40) / 3.6
    while m < length_m:
        if dwell > 0:
            dwell -= dt
        else:
            gap = stops[k] - m
            v = min(v + accel * dt, cruise, np.sqrt(2 * accel * max(gap, 0.0)) + 0.3)
            m = min(m + v * dt, length_m)
            if m >= stops[k]:
                k, dwell, v = k + 1, rng.uniform(10, 40), 0.0
                cruise = rng.uniform(15, 40) / 3.6
        out.append(m)
    return np.asarray(out), dt


def _add_detour(
    geom: RouteGeometry, x: FloatArray, y: FloatArray, m: FloatArray, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """Leave the route for ~3 min, outward from the route's middle (to a depot, say)."""
    at = int(rng.integers(len(m) // 4, 3 * len(m) // 4))
    ang = np.arctan2(y[at] - geom.y.mean(), x[at] - geom.x.mean()) + rng.uniform(-0.3, 0.3)
    out = np.r_[np.linspace(0, 500, 100), np.full(160, 500.0), np.linspace(500, 0, 100)]
    x = np.insert(x, at, x[at] + out * np.cos(ang))
    y = np.insert(y, at, y[at] + out * np.sin(ang))
    m = np.insert(m, at, np.full(len(out), m[at]))
    away = np.zeros(len(m), dtype=bool)
    away[at : at + len(out)] = True
    return x, y, m, away


def export_osm(streets: Streets, path: Path) -> None:
    """Write the street network as OSM XML (one way per edge) for peer matchers."""
    lon, lat = to_lonlat(streets.xy[:, 0], streets.xy[:, 1])
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="tracks">']
    for i, (lo, la) in enumerate(zip(lon, lat, strict=True)):
        lines.append(f'  <node id="{i + 1}" version="1" lat="{la:.7f}" lon="{lo:.7f}"/>')
    for edge, n in streets.edges.items():
        a, b = sorted(edge)
        lines.append(f'  <way id="{n + 1}" version="1"><nd ref="{a + 1}"/><nd ref="{b + 1}"/>')
        lines.append(f'    <tag k="highway" v={quoteattr("residential")}/></way>')
    lines.append("</osm>")
    path.write_text("\n".join(lines) + "\n")


def export_trace_csv(trace: Trace, truck_id: str, route_id: str, path: Path) -> None:
    """Write a trace in the ``fleet snap`` CSV layout (time in epoch seconds)."""
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["truck_id", "route_id", "time", "lat", "lon", "speed_mps"])
        for row in zip(trace.t_s, trace.lat, trace.lon, trace.speed_mps, strict=True):
            t, la, lo, sp = row
            w.writerow([truck_id, route_id, f"{t:.1f}", f"{la:.7f}", f"{lo:.7f}", f"{sp:.2f}"])
