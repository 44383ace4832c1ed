"""Bin coverage: the day recompute and the per-ping path, beside brute force.

    .venv/bin/python simulations/bench_coverage.py                 # routes_data if present
    .venv/bin/python simulations/bench_coverage.py --synthetic     # own synthetic routes
    .venv/bin/python simulations/bench_coverage.py --trucks 10 --hours 2

A day of ``--trucks`` trucks x ``--hours`` h x 1 fix/s, each driving its route at
8 m/s (looping when done), stopping 20-40 s at 80% of its bins, GPS noise sigma 3 m;
half the trucks report device speed. "Brute force" is every fix against every bin of
the route with numpy (no index, no segments), measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fleet.coverage import (  # noqa: E402
    DEFAULT_CONFIG,
    BinIndex,
    TrackPoint,
    Visit,
    merge_visit,
    observe_pairs,
    observe_segment,
)
from fleet.coverage_day import detect_visits  # noqa: E402
from fleet.geofence import Site, SiteIndex, detect_site_visits, step_site  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "routes_data"
TO_UTM = Transformer.from_crs("EPSG:4326", "EPSG:32751", always_xy=True)


@dataclass(frozen=True)
class Route:
    route_id: str
    line: shapely.LineString
    bin_ids: list[str]
    bin_m: np.ndarray  # measure along the line where each bin is served
    bin_xy: np.ndarray


@dataclass(frozen=True)
class Track:
    route: Route
    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    v: np.ndarray


def synthetic_routes(n_routes: int, n_bins: int, rng: np.random.Generator) -> list[Route]:
    """Serpentines of 15 lanes x 1 km, 100 m apart, closed by a way back; bins 3-8 m off."""
    routes = []
    for k in range(n_routes):
        ox, oy = 560_000 + (k % 10) * 1600.0, 8_850_000 + (k // 10) * 1800.0
        pts = []
        for lane in range(15):
            xs = (0.0, 1000.0) if lane % 2 == 0 else (1000.0, 0.0)
            pts += [(ox + xs[0], oy + lane * 100.0), (ox + xs[1], oy + lane * 100.0)]
        pts += [(ox - 50, oy + 1400), (ox - 50, oy), (ox, oy)]
        line = shapely.LineString(pts)
        m = n_bins // n_routes + (k < n_bins % n_routes)
        at = np.sort(rng.uniform(0, 15_000, m))
        on = shapely.line_interpolate_point(line, at)
        side = rng.choice([-1.0, 1.0], m) * rng.uniform(3, 8, m)
        xy = shapely.get_coordinates(on) + np.c_[np.zeros(m), side]
        routes.append(Route(f"S-{k:02d}", line, [f"S{k:02d}-{i:03d}" for i in range(m)], at, xy))
    return routes


def real_routes(n_routes: int) -> list[Route]:
    """routes_data: route lines and installed bins, projected to UTM 51S."""
    lines = json.loads((DATA / "routes.geojson").read_text())["features"][:n_routes]
    bins = json.loads((DATA / "bins.geojson").read_text())["features"]
    routes = []
    for f in lines:
        lon, lat = np.array(f["geometry"]["coordinates"]).T
        line = shapely.LineString(np.c_[TO_UTM.transform(lon, lat)])
        mine = [
            b
            for b in bins
            if b["properties"]["route_id"] == f["properties"]["route_id"]
            and b["properties"]["status"] == "installed"
        ]
        blon, blat = np.array([b["geometry"]["coordinates"] for b in mine]).reshape(-1, 2).T
        xy = np.c_[TO_UTM.transform(blon, blat)]
        ids = [b["properties"]["bin_id"] for b in mine]
        at = np.array([b["properties"]["progress_m"] for b in mine])
        routes.append(Route(f["properties"]["route_id"], line, ids, at, xy))
    return routes


def drive(route: Route, hours: float, rng: np.random.Generator, with_speed: bool) -> Track:
    """1 Hz fixes: 5 min at the start, 8 m/s along the line, 20-40 s stops at the same 80%
    of the bins on every lap."""
    length, speed = route.line.length, 8.0
    wt, ws, t_now, s_base = [0.0], [0.0], 0.0, 0.0
    stops = np.sort(route.bin_m[rng.random(route.bin_m.size) < 0.8])
    while t_now < hours * 3600:
        t_now += 300.0
        wt.append(t_now)
        ws.append(s_base)
        for at in stops:
            t_now += (s_base + at - ws[-1]) / speed
            stop = rng.uniform(20, 40)
            wt += [t_now, t_now + stop]
            ws += [s_base + at, s_base + at]
            t_now += stop
        t_now += (s_base + length - ws[-1]) / speed
        s_base += length
        wt.append(t_now)
        ws.append(s_base)
    t = np.arange(0.0, hours * 3600)
    s = np.interp(t, wt, ws)
    xy = shapely.get_coordinates(shapely.line_interpolate_point(route.line, s % length))
    xy += rng.normal(0, 3.0, xy.shape)
    v = np.abs(np.gradient(s)) if with_speed else np.full(t.size, np.nan)
    return Track(route, 1_717_200_000.0 + t, xy[:, 0], xy[:, 1], v)


def build_index(routes: list[Route]) -> BinIndex:
    ids = [b for r in routes for b in r.bin_ids]
    rids = [r.route_id for r in routes for _ in r.bin_ids]
    xy = np.concatenate([r.bin_xy for r in routes])
    return BinIndex.from_arrays(ids, rids, xy[:, 0], xy[:, 1])


def statuses(index: BinIndex, tr: Track) -> dict[str, str]:
    found = detect_visits(index, tr.route.route_id, tr.t, tr.x, tr.y, tr.v, truck_id="T")
    return {v.bin_id: v.status for v in found}


def brute_force(track: Track) -> dict[str, str]:
    """Every fix against every bin of the route: in radius, and slow or long enough."""
    cfg, r = DEFAULT_CONFIG, track.route
    step = np.hypot(np.diff(track.x, prepend=track.x[0]), np.diff(track.y, prepend=track.y[0]))
    speed = np.where(np.isnan(track.v), step / np.diff(track.t, prepend=track.t[0] - 1), track.v)
    out = {}
    for lo in range(0, r.bin_xy.shape[0], 64):
        bx, by = r.bin_xy[lo : lo + 64, 0], r.bin_xy[lo : lo + 64, 1]
        near = np.hypot(track.x[:, None] - bx, track.y[:, None] - by) <= cfg.radius_m
        slow = (near & (speed[:, None] < cfg.stop_speed_mps)).any(axis=0)
        for j in np.flatnonzero(near.any(axis=0)):
            edges = np.diff(np.concatenate([[0], near[:, j].astype(np.int8), [0]]))
            longest = (np.flatnonzero(edges < 0) - np.flatnonzero(edges > 0)).max()
            stopped = slow[j] or longest >= cfg.dwell_s
            out[r.bin_ids[lo + j]] = "serviced" if stopped else "passed"
    return out


def per_ping(index: BinIndex, track: Track, n: int) -> tuple[np.ndarray, dict[str, Visit]]:
    """observe_segment + merge_visit on the first ``n`` fixes; per-call seconds."""
    pts = [
        TrackPoint(t, x, y, None if v != v else v)
        for t, x, y, v in zip(
            *(a[:n].tolist() for a in (track.t, track.x, track.y, track.v)), strict=True
        )
    ]
    visits: dict[str, Visit] = {}
    took = np.empty(n)
    prev = None
    clock = time.perf_counter
    rid = track.route.route_id
    for k, cur in enumerate(pts):
        c0 = clock()
        for obs in observe_segment(index, rid, prev, cur):
            visits[obs.bin_id] = merge_visit(
                visits.get(obs.bin_id), obs, truck_id="T", recorded_at_s=cur.t_s
            )
        took[k] = clock() - c0
        prev = cur
    return took, visits


def per_ping_all_bins(index: BinIndex, track: Track, n: int) -> np.ndarray:
    """The same kernel per ping against every bin of the route (no STRtree)."""
    bins = index.routes[track.route.route_id]
    took = np.empty(n - 1)
    t, x, y, v = (a[:n].tolist() for a in (track.t, track.x, track.y, track.v))
    for k in range(1, n):
        c0 = time.perf_counter()
        seg = (x[k - 1], y[k - 1], t[k - 1], v[k - 1], x[k], y[k], t[k], v[k], True)
        observe_pairs(seg, bins.x_m, bins.y_m, DEFAULT_CONFIG)
        took[k - 1] = time.perf_counter() - c0
    return took


def _pcts(took: np.ndarray) -> str:
    p50, p99 = np.percentile(took, [50, 99]) * 1e6
    return f"p50 {p50:.1f} / p99 {p99:.1f} / max {took.max() * 1e6:.0f} us"


def load_sites(routes: list[Route], use_real: bool) -> SiteIndex:
    """routes_data/sites.geojson, or a 120 m site at the start of every synthetic route."""
    if use_real:
        feats = json.loads((DATA / "sites.geojson").read_text())["features"]
        return SiteIndex.from_sites(
            Site(
                f["properties"]["site_id"], f["properties"]["name"], f["properties"]["kind"],
                f["properties"]["kecamatan"],
                shapely.Polygon(np.c_[TO_UTM.transform(*np.array(f["geometry"]["coordinates"][0]).T)]),
            )
            for f in feats
        )  # fmt: skip
    sites = []
    for k, r in enumerate(routes):
        x, y = shapely.get_coordinates(r.line)[0]
        kind = "processing" if k % 25 == 1 else "depot"
        sites.append(
            Site(f"G{k}", f"site {k}", kind, "", shapely.box(x - 60, y - 60, x + 60, y + 60))
        )
    return SiteIndex.from_sites(sites)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trucks", type=int, default=50)
    ap.add_argument("--hours", type=float, default=10.0)
    ap.add_argument("--ping-sample", type=int, default=20_000, help="fixes per path, 2 trucks")
    ap.add_argument("--synthetic", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(5371)
    use_real = not args.synthetic and (DATA / "routes.geojson").exists()
    routes = real_routes(args.trucks) if use_real else synthetic_routes(args.trucks, 1347, rng)
    c0 = time.perf_counter()
    index = build_index(routes)
    t_index = time.perf_counter() - c0
    tracks = [drive(r, args.hours, rng, with_speed=k % 2 == 0) for k, r in enumerate(routes)]
    n_fix = sum(t.t.size for t in tracks)
    n_bins = sum(len(r.bin_ids) for r in routes)
    print(f"# Bin coverage benchmark ({'routes_data' if use_real else 'synthetic routes'})")
    print(f"{len(routes)} trucks, {n_bins} bins, {n_fix:,} fixes; index {t_index * 1e3:.1f} ms\n")

    c0 = time.perf_counter()
    full = [statuses(index, tr) for tr in tracks]
    t_full = time.perf_counter() - c0
    c0 = time.perf_counter()
    brute = [brute_force(tr) for tr in tracks]
    t_brute = time.perf_counter() - c0
    sparse = [Track(tr.route, tr.t[::30], tr.x[::30], tr.y[::30], tr.v[::30]) for tr in tracks]
    full30 = [statuses(index, tr) for tr in sparse]
    brute30 = [brute_force(tr) for tr in sparse]

    n_ping = min(args.ping_sample, tracks[0].t.size)
    sample = tracks[:2]
    ping_runs = [per_ping(index, tr, n_ping) for tr in sample]
    took = np.concatenate([p[0] for p in ping_runs])
    took_all = np.concatenate([per_ping_all_bins(index, tr, n_ping) for tr in sample])
    same_as_full = all(
        visits
        == {
            v.bin_id: v
            for v in detect_visits(
                index,
                tr.route.route_id,
                tr.t[:n_ping],
                tr.x[:n_ping],
                tr.y[:n_ping],
                tr.v[:n_ping],
                truck_id="T",
            )
        }
        for tr, (_, visits) in zip(sample, ping_runs, strict=True)
    )

    sites = load_sites(routes, use_real)
    c0 = time.perf_counter()
    stays = [detect_site_visits(sites, tr.t, tr.x, tr.y) for tr in tracks]
    t_sites = time.perf_counter() - c0
    tr0 = tracks[0]
    c0 = time.perf_counter()
    state = None
    for t, x, y in zip(*(a[:n_ping].tolist() for a in (tr0.t, tr0.x, tr0.y)), strict=True):
        state, _ = step_site(sites, state, t, x, y)
    t_step = (time.perf_counter() - c0) / n_ping

    def count(runs: list[dict[str, str]], status: str) -> int:
        return sum(s == status for run in runs for s in run.values())

    agree = sum(full[k].get(b) == brute[k].get(b) for k, r in enumerate(routes) for b in r.bin_ids)
    us = 1e6
    rows = [
        ("day recompute (detect_visits)", f"{n_fix:,} fixes", f"{t_full:.2f} s",
         f"{t_full / n_fix * us:.2f} us", count(full, "serviced"), count(full, "passed")),
        ("brute force: every fix x every route bin", f"{n_fix:,} fixes", f"{t_brute:.2f} s",
         f"{t_brute / n_fix * us:.2f} us", count(brute, "serviced"), count(brute, "passed")),
        ("same day, a fix every 30 s: detect_visits", f"{n_fix // 30:,} fixes", "", "",
         count(full30, "serviced"), count(full30, "passed")),
        ("same day, a fix every 30 s: brute force", f"{n_fix // 30:,} fixes", "", "",
         count(brute30, "serviced"), count(brute30, "passed")),
        ("per ping: observe_segment + merge_visit", f"{took.size:,} pings",
         f"mean {took.mean() * us:.1f} us", _pcts(took), "", ""),
        ("per ping: same kernel on all route bins", f"{took_all.size:,} pings",
         f"mean {took_all.mean() * us:.1f} us", _pcts(took_all), "", ""),
        ("geofence day (detect_site_visits)", f"{n_fix:,} fixes", f"{t_sites:.2f} s",
         f"{t_sites / n_fix * us:.2f} us", f"{sum(map(len, stays))} stays", ""),
        ("geofence per ping (step_site)", f"{n_ping:,} pings", f"mean {t_step * us:.1f} us",
         "", "", ""),
    ]  # fmt: skip
    print("| path | input | time | per fix | serviced | passed (bins never seen: the rest) |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(map(str, row)) + " |")
    print(f"\nbins with the same outcome, day recompute vs brute force: {agree}/{n_bins}")
    print(f"per-ping visits identical to the day recompute of the same fixes: {same_as_full}")


if __name__ == "__main__":
    main()
