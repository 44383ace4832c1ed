"""Route snapping: accuracy and throughput, beside naive nearest-point projection.

    .venv/bin/python simulations/bench_snap.py               # default, ~1-2 min
    .venv/bin/python simulations/bench_snap.py --routes 10   # bigger run

Synthetic street grids and routes (``simulations/tracks.py``) with loops driven twice,
dead ends, U-turns and a detour; GPS sampled every 1 s and 5 s with noise sigma 5, 15
and 30 m (per axis) plus 150 m outliers. "Naive" is Shapely ``line_locate_point`` on
the whole route with ``distance > off_route_m`` as off-route, measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fleet.geo import to_metric  # noqa: E402
from fleet.snap import Matcher, SnapConfig, match_trace  # noqa: E402
from simulations.tracks import SimRoute, Streets, drive, plan_route, street_grid  # noqa: E402

JUNCTION_TOL_M = 10.0


def naive(route: SimRoute, lon: np.ndarray, lat: np.ndarray, off_m: float):
    geom = route.geometry
    line = shapely.LineString(np.c_[geom.x, geom.y])
    pts = shapely.points(*to_metric(lon, lat))
    return shapely.line_locate_point(line, pts), shapely.distance(line, pts) <= off_m


def metrics(route: SimRoute, streets: Streets, trace, progress, on_route) -> dict[str, float]:
    """Errors on fixes whose truth is on the route (not on the detour)."""
    keep = ~trace.detour
    err = np.abs(progress - trace.true_progress_m)[keep]
    true_edge = route.edge_at(trace.true_progress_m)
    same = route.edge_at(progress) == true_edge
    x, y = route.geometry.xy_at(progress)
    near = _distance_to_edge(streets, true_edge, x, y) <= JUNCTION_TOL_M
    pred_off, true_off = ~np.asarray(on_route, bool), trace.true_off
    tp = (pred_off & true_off).sum()
    return {
        "n": float(keep.sum()),
        "p50": float(np.percentile(err, 50)),
        "p95": float(np.percentile(err, 95)),
        "seg": float(same[keep].mean()),
        "seg_tol": float((same | near)[keep].mean()),
        "wrong": float((err > 100.0).mean()),
        "prec": float(tp / max(pred_off.sum(), 1)),
        "rec": float(tp / max(true_off.sum(), 1)),
    }


def _distance_to_edge(streets: Streets, edge_id, x, y):
    ends = {n: sorted(e) for e, n in streets.edges.items()}
    ab = np.array([ends[int(e)] for e in edge_id])
    a, b = streets.xy[ab[:, 0]], streets.xy[ab[:, 1]]
    line = shapely.linestrings(np.stack([a, b], 1))
    return shapely.distance(line, shapely.points(x, y))


def accuracy(args) -> None:
    cfg = SnapConfig()
    print("\n## Accuracy (fixes with truth on the route; off-route over all fixes)")
    head = "| sample | sigma | method | fixes | p50 m | p95 m | right seg | seg ±junction"
    print(head + " | wrong pass | off prec | off rec |")
    print("|" + "---|" * 11)
    for sample_s in args.samples:
        for sigma in args.sigmas:
            rows = {"snap": [], "naive": []}
            for k in range(args.routes):
                rng = np.random.default_rng(args.seed + k)
                streets = street_grid(rng)
                route = plan_route(streets, rng, f"S{k}", args.length_m)
                tr = drive(route, rng, sample_s, sigma)
                acc = None if args.no_accuracy else tr.accuracy_m
                res = match_trace(
                    route.geometry, tr.t_s, tr.lon, tr.lat, tr.speed_mps, acc, config=cfg
                )
                rows["snap"].append(metrics(route, streets, tr, res.progress_m, res.on_route))
                prog, on = naive(route, tr.lon, tr.lat, cfg.off_route_m)
                rows["naive"].append(metrics(route, streets, tr, prog, on))
            for name, ms in rows.items():
                w = np.array([m["n"] for m in ms])
                avg = {key: np.average([m[key] for m in ms], weights=w) for key in ms[0]}
                print(
                    f"| {sample_s:g} s | {sigma:g} m | {name} | {int(w.sum())} | {avg['p50']:.1f}"
                    f" | {avg['p95']:.1f} | {avg['seg']:.2%} | {avg['seg_tol']:.2%}"
                    f" | {avg['wrong']:.2%} | {avg['prec']:.2f} | {avg['rec']:.2f} |"
                )


def throughput(args) -> None:
    print("\n## Throughput (one core)")
    print("| route | vertices | fixes | snap batch fixes/s | snap live us/fix"
          " | naive batch fixes/s | naive per-fix us |")  # fmt: skip
    print("|" + "---|" * 7)
    rng = np.random.default_rng(args.seed)
    streets = street_grid(rng, 16, 16)
    route = plan_route(streets, rng, "S-big", 10_000.0)
    _throughput_row("synthetic", route, rng, args.fixes)
    real = Path(__file__).resolve().parents[1] / "routes_data" / "routes.geojson"
    if real.exists():
        from fleet.snap_files import read_routes

        net = read_routes(real)
        geom = max(net.routes.values(), key=lambda g: len(g.x))
        sim = SimRoute(geom, np.zeros(1), np.zeros(1, dtype=np.int64))
        _throughput_row(geom.route_id, sim, rng, args.fixes)


def _throughput_row(name: str, route: SimRoute, rng, n_fixes: int) -> None:
    geom = route.geometry
    traces = []
    while sum(len(t.t_s) for t in traces) < n_fixes:
        traces.append(drive(route, rng, 1.0, 15.0))
    t = np.concatenate([tr.t_s + 100_000.0 * i for i, tr in enumerate(traces)])[:n_fixes]
    lon = np.concatenate([tr.lon for tr in traces])[:n_fixes]
    lat = np.concatenate([tr.lat for tr in traces])[:n_fixes]
    spd = np.concatenate([tr.speed_mps for tr in traces])[:n_fixes]
    t0 = time.perf_counter()
    match_trace(geom, t, lon, lat, spd)
    batch = n_fixes / (time.perf_counter() - t0)
    live_n = min(n_fixes, 5000)
    matcher, state = Matcher(geom), None
    tl, lol, lal, sl = (a[:live_n].tolist() for a in (t, lon, lat, spd))
    t0 = time.perf_counter()
    for k in range(live_n):
        state, _ = matcher.step(state, tl[k], lol[k], lal[k], sl[k])
    live_us = (time.perf_counter() - t0) / live_n * 1e6
    t0 = time.perf_counter()
    naive(route, lon, lat, 50.0)
    naive_batch = n_fixes / (time.perf_counter() - t0)
    line = shapely.LineString(np.c_[geom.x, geom.y])
    t0 = time.perf_counter()
    for k in range(live_n):
        x, y = to_metric(lol[k], lal[k])
        line.project(shapely.Point(float(x), float(y)))
    naive_us = (time.perf_counter() - t0) / live_n * 1e6
    print(
        f"| {name} | {len(geom.x)} | {n_fixes} | {batch:,.0f} | {live_us:.1f}"
        f" | {naive_batch:,.0f} | {naive_us:.1f} |"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--routes", type=int, default=3, help="routes per accuracy cell")
    p.add_argument("--length-m", type=float, default=8000.0, help="route length")
    p.add_argument("--samples", type=float, nargs="+", default=[1.0, 5.0])
    p.add_argument("--sigmas", type=float, nargs="+", default=[5.0, 15.0, 30.0])
    p.add_argument("--fixes", type=int, default=50_000, help="fixes for throughput")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-accuracy", action="store_true", help="devices send no accuracy")
    p.add_argument("--only", choices=["accuracy", "throughput"], help="run one part")
    args = p.parse_args()
    if args.only != "throughput":
        accuracy(args)
    if args.only != "accuracy":
        throughput(args)


if __name__ == "__main__":
    main()
