"""Regenerate every reference layer for Kota Kupang from the real boundaries.

    python routes_data/build.py [--seed 5371] [--out routes_data] [--source DIR]

Boundaries are real (cahyadsn/wilayah_boundaries, MIT); streets, routes, bins and sites
are synthetic and generated from ``--seed``: the same seed gives byte-identical files.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from _bins import PlacedBin, largest_remainder, place_bins
from _geo import (
    KECAMATAN_POPULATION,
    Boundaries,
    geometry_json,
    load_boundaries,
    utm_to_lonlat,
    write_geojson,
)
from _graph import Network
from _routes import PlannedRoute, depot_paths, plan_kecamatan
from _sites import Site, plan_sites
from _streets import build_network
from _timetable import colors, schedules, shifts
from shapely import LineString, Point

HERE = Path(__file__).resolve().parent
ROUTES = 50
BINS = 1347
INSTALLED = 900
LICENCE = "LICENSE-wilayah_boundaries"


def _feature(props: dict[str, Any], geom) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": geometry_json(geom)}


def _boundary_features(b: Boundaries) -> tuple[list[dict], list[dict]]:
    kec = [
        _feature(
            {
                "name": row.name,
                "kode": row.kode,
                "kelurahan": list(b.kelurahan.loc[b.kelurahan["kecamatan"] == row.name, "name"]),
                "population": KECAMATAN_POPULATION[row.name],
            },
            row.geometry,
        )
        for row in b.kecamatan.itertuples()
    ]
    kel = [
        _feature({"name": r.name, "kode": r.kode, "kecamatan": r.kecamatan}, r.geometry)
        for r in b.kelurahan.itertuples()
    ]
    return kec, kel


def _street_features(net: Network) -> list[dict]:
    return [
        _feature(
            {
                "street_id": f"ST-{e + 1:05d}",
                "name": net.name[e],
                "kecamatan": net.kecamatan[e],
                "kelurahan": net.kelurahan[e],
                "road_class": net.road_class[e],
                "synthetic": True,
            },
            LineString(net.lonlat[net.edges[e]]),
        )
        for e in range(len(net.edges))
    ]


def _measures(net: Network, route: PlannedRoute) -> tuple[float, float, float]:
    """Collection start, collection end and total length, in metres."""
    cum = np.concatenate(
        [[0.0], np.cumsum(np.hypot(*np.diff(net.xy[list(route.nodes)], axis=0).T))]
    )
    return float(cum[route.start]), float(cum[route.end]), float(cum[-1])


def _route_features(net: Network, routes: list[PlannedRoute], seed: int) -> list[dict]:
    rng = np.random.default_rng(seed + 5)
    days, times, palette = (
        schedules(len(routes), rng),
        shifts(len(routes), rng),
        colors(len(routes)),
    )
    features, seen = [], dict.fromkeys(KECAMATAN_POPULATION, 0)
    for i, route in enumerate(routes):
        seen[route.kecamatan] += 1
        start_m, end_m, total_m = _measures(net, route)
        code = f"KP-{i + 1:02d}"
        props = {
            "route_id": code,
            "truck_id": code,
            "name": f"{route.kecamatan} {seen[route.kecamatan]}",
            "kecamatan": route.kecamatan,
            "color": palette[i],
            "schedule_days": days[i],
            "shift_start": times[i][0],
            "shift_end": times[i][1],
            "length_m": round(total_m, 1),
            "collection_start_m": round(start_m, 1),
            "collection_end_m": round(end_m, 1),
            "collection_m": round(end_m - start_m, 1),
            "synthetic": True,
        }
        features.append(_feature(props, LineString(net.lonlat[list(route.nodes)])))
    return features


def _bin_features(net, b: Boundaries, bins: list[PlacedBin], routes, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed + 9)
    xy = np.array([[p.x, p.y] for p in bins])
    lonlat = utm_to_lonlat(xy)
    kel = np.full(len(bins), "", dtype=object)
    for poly, name in zip(b.kelurahan_utm, b.kelurahan["name"], strict=True):
        kel[(kel == "") & shapely.contains_xy(poly, xy[:, 0], xy[:, 1])] = name
    kec = [routes[p.route].kecamatan for p in bins]
    installed = np.zeros(len(bins), dtype=bool)
    names = list(KECAMATAN_POPULATION)
    counts = [kec.count(k) for k in names]
    for k, n in zip(names, largest_remainder(INSTALLED, counts), strict=True):
        idx = np.array([i for i, c in enumerate(kec) if c == k])
        installed[rng.choice(idx, size=n, replace=False)] = True
    features = []
    for i, p in enumerate(bins):
        props = {
            "bin_id": f"BIN-{i + 1:04d}",
            "status": "installed" if installed[i] else "planned",
            "kecamatan": kec[i],
            "kelurahan": kel[i] or net.kelurahan[p.edge],
            "route_id": f"KP-{p.route + 1:02d}",
            "progress_m": round(p.progress_m, 1),
            "street": net.name[p.edge],
            "synthetic": True,
        }
        features.append(_feature(props, Point(lonlat[i])))
    return features


def _site_features(sites: tuple[Site, ...]) -> list[dict]:
    features = []
    for s in sites:
        ring = utm_to_lonlat(np.asarray(s.polygon.exterior.coords))
        props = {"site_id": s.site_id, "kind": s.kind, "name": s.name, "kecamatan": s.kecamatan}
        props["synthetic"] = True
        features.append(_feature(props, shapely.Polygon(ring)))
    return features


def _plan(net: Network, b: Boundaries, sites, seed: int) -> list[PlannedRoute]:
    """All routes, kecamatan by kecamatan, route counts in proportion to population."""
    rng = np.random.default_rng(seed + 2)
    names = list(b.kecamatan["name"])
    counts = largest_remainder(ROUTES, [KECAMATAN_POPULATION[k] for k in names])
    dist, pred = depot_paths(net, sites[0].gate)
    routes: list[PlannedRoute] = []
    for kec, poly, count in zip(names, b.kecamatan_utm, counts, strict=True):
        routes += plan_kecamatan(net, kec, poly, count, (sites[0].gate, dist, pred), rng)
    return routes


def _bin_quotas(routes: list[PlannedRoute], net: Network) -> list[int]:
    names = list(KECAMATAN_POPULATION)
    per_kec = largest_remainder(BINS, [KECAMATAN_POPULATION[k] for k in names])
    quotas = [0] * len(routes)
    for kec, total in zip(names, per_kec, strict=True):
        idx = [i for i, r in enumerate(routes) if r.kecamatan == kec]
        weights = [float(net.length_m[sorted(routes[i].region_edges)].sum()) for i in idx]
        for i, q in zip(idx, largest_remainder(total, weights), strict=True):
            quotas[i] = q
    return quotas


def build(source: Path, out: Path, seed: int) -> None:
    """Generate and write all seven layers (and the boundary licence) into ``out``."""
    b = load_boundaries(source)
    net = build_network(b, seed)
    sites = plan_sites(net, b, seed)
    routes = _plan(net, b, sites, seed)
    bins = place_bins(net, routes, _bin_quotas(routes, net), seed)
    out.mkdir(parents=True, exist_ok=True)
    kec, kel = _boundary_features(b)
    write_geojson(out / "kecamatan.geojson", kec, "kecamatan")
    write_geojson(out / "kelurahan.geojson", kel, "kelurahan")
    write_geojson(out / "streets.geojson", _street_features(net), "streets")
    write_geojson(out / "routes.geojson", _route_features(net, routes, seed), "routes")
    write_geojson(out / "bins.geojson", _bin_features(net, b, bins, routes, seed), "bins")
    write_geojson(out / "sites.geojson", _site_features(sites), "sites")
    if (source / LICENCE).resolve() != (out / LICENCE).resolve():
        shutil.copyfile(source / LICENCE, out / LICENCE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=5371)
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--source", type=Path, default=HERE / "source")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    build(args.source, args.out, args.seed)
    print(f"built {args.out} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
