"""Route snapping: accuracy and throughput, beside naive nearest-point projection.

    .venv/bin/python simulations/bench_snap.py               # default, ~2-3 min
    .venv/bin/python simulations/bench_snap.py --routes 10   # bigger run

Synthetic street grids and routes (``simulations/tracks.py``) with loops driven twice,
dead ends, U-turns and a detour; GPS sampled every 1 s and 5 s with noise sigma 5, 15
and 30 m (per axis) plus 150 m outliers. "Naive" is Shapely ``line_locate_point`` on
the whole route with ``distance > off_route_m`` as off-route, measured in the same run.
"Known pass" rows are the reference of ``simulations/ceiling.py``: a Kalman filter
and smoother on progress that are told the true pass and which fixes are outliers,
what the traces allow a live answer (filter) or an after-the-fact one (smoother).

Throughput runs on one core: the process pins itself to CPU 0 and BLAS/OpenMP pools
to one thread. It covers one long trace (``match_trace``) and a simulated day of the
50 Kupang trucks (``fleet.simulator`` on ``routes_data``, fixes every
``--day-interval-s``) matched both in lockstep (``match_traces``) and one trace at a
time. Times are the best of ``--repeats`` runs, wall clock. Where OPENBLAS_CORETYPE is
set (see the machine notes) it is left as it is; matching makes no BLAS calls.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import shapely  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fleet.geo import to_metric  # noqa: E402
from fleet.snap import Matcher, SnapConfig, TraceFixes, match_trace, match_traces  # noqa: E402
from simulations import ceiling  # noqa: E402
from simulations.tracks import SimRoute, Streets, drive, plan_route, street_grid  # noqa: E402

ROUTES_DIR = Path(__file__).resolve().parents[1] / "routes_data"

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
            rows: dict[str, list[dict[str, float]]] = {"snap": [], "naive": []}
            drives = []
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
                drives.append((route, streets, tr))
            if not args.no_ceiling:
                rows.update(_known_pass_rows(drives, sigma))
            for name, ms in rows.items():
                avg = _pooled(ms)
                off = "| – | – |" if name.startswith("known") else (
                    f"| {avg['prec']:.2f} | {avg['rec']:.2f} |"
                )  # fmt: skip
                print(
                    f"| {sample_s:g} s | {sigma:g} m | {name} | {int(avg['n'])} | {avg['p50']:.1f}"
                    f" | {avg['p95']:.1f} | {avg['seg']:.2%} | {avg['seg_tol']:.2%}"
                    f" | {avg['wrong']:.2%} {off}"
                )


def _pooled(ms: list[dict[str, float]]) -> dict[str, float]:
    """Per-trace metrics pooled, weighted by fixes."""
    w = np.array([m["n"] for m in ms])
    avg = {key: float(np.average([m[key] for m in ms], weights=w)) for key in ms[0]}
    avg["n"] = float(w.sum())
    return avg


def _known_pass_rows(drives, sigma: float) -> dict[str, list[dict[str, float]]]:
    """The reference told the true pass (``ceiling.py``): filter and smoother, each with
    the process noise of the sweep that puts most fixes on the right street."""
    zs = [ceiling.measurements(route, tr, sigma) for route, _, tr in drives]
    best: dict[str, list[dict[str, float]]] = {}
    for sd0, sd_per_s in ceiling.SWEEP:
        filt, smooth = [], []
        for (route, streets, tr), z in zip(drives, zs, strict=True):
            est = ceiling.estimate(tr, z, sigma, sd0, sd_per_s)
            on = np.ones(len(z), dtype=bool)
            filt.append(metrics(route, streets, tr, est.filtered_m, on))
            smooth.append(metrics(route, streets, tr, est.smoothed_m, on))
        for name, ms in (("known pass, filter", filt), ("known pass, smoother", smooth)):
            if name not in best or _pooled(ms)["seg"] > _pooled(best[name])["seg"]:
                best[name] = ms
    return best


def throughput(args) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    print(f"\n## Throughput (one core; load average {os.getloadavg()[0]:.1f} at start)")
    print("| input | traces | fixes | snap batch fixes/s | (by CPU time) | naive batch fixes/s"
          " | snap live us/fix | naive per-fix us |")  # fmt: skip
    print("|" + "---|" * 8)
    rng = np.random.default_rng(args.seed)
    streets = street_grid(rng, 16, 16)
    route = plan_route(streets, rng, "S-big", 10_000.0)
    _single_row("synthetic, one trace", route, rng, args)
    if (ROUTES_DIR / "routes.geojson").exists():
        from fleet.snap_files import read_routes

        net = read_routes(ROUTES_DIR / "routes.geojson")
        geom = max(net.routes.values(), key=lambda g: len(g.x))
        sim = SimRoute(geom, np.zeros(1), np.zeros(1, dtype=np.int64))
        _single_row(f"{geom.route_id}, one trace", sim, rng, args)
        _day_rows(net, args)


def _best_s(repeats: int, fn) -> float:
    """Best wall time of ``repeats`` runs (CPU time of that run kept in ``_CPU_S``)."""
    best = float("inf")
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall = time.perf_counter() - t0
        if wall < best:
            best, _CPU_S[0] = wall, time.process_time() - c0
    return best


_CPU_S = [0.0]


def _single_row(name: str, route: SimRoute, rng, args) -> None:
    geom, n_fixes = route.geometry, args.fixes
    traces = []
    while sum(len(t.t_s) for t in traces) < n_fixes:
        traces.append(drive(route, rng, 1.0, 15.0))
    t = np.concatenate([tr.t_s + 100_000.0 * i for i, tr in enumerate(traces)])[:n_fixes]
    lon = np.concatenate([tr.lon for tr in traces])[:n_fixes]
    lat = np.concatenate([tr.lat for tr in traces])[:n_fixes]
    spd = np.concatenate([tr.speed_mps for tr in traces])[:n_fixes]
    batch = _best_s(args.repeats, lambda: match_trace(geom, t, lon, lat, spd))
    cpu = _CPU_S[0]
    naive_s = _best_s(args.repeats, lambda: naive(route, lon, lat, 50.0))
    live_us, naive_us = _per_fix_us(geom, t, lon, lat, spd)
    print(
        f"| {name} | 1 | {n_fixes} | {n_fixes / batch:,.0f} | {n_fixes / cpu:,.0f}"
        f" | {n_fixes / naive_s:,.0f}"
        f" | {live_us:.1f} | {naive_us:.1f} |"
    )


def _per_fix_us(geom, t, lon, lat, spd) -> tuple[float, float]:
    """Live matcher and naive projection, one call per fix (first 5,000 fixes)."""
    live_n = min(len(t), 5000)
    matcher, state = Matcher(geom), None
    tl, lol, lal, sl = (np.asarray(a)[:live_n].tolist() for a in (t, lon, lat, spd))
    t0 = time.perf_counter()
    for k in range(live_n):
        state, _ = matcher.step(state, tl[k], lol[k], lal[k], sl[k])
    live_us = (time.perf_counter() - t0) / live_n * 1e6
    line = shapely.LineString(np.c_[geom.x, geom.y])
    t0 = time.perf_counter()
    for k in range(live_n):
        x, y = to_metric(lol[k], lal[k])
        line.project(shapely.Point(float(x), float(y)))
    return live_us, (time.perf_counter() - t0) / live_n * 1e6


def _simulated_days(net, args, days: int):
    """(routes, fixes) of every truck on ``days`` simulated days, one trace per truck-day."""
    from datetime import date, timedelta

    from fleet.simrun import load_reference
    from fleet.simulator import GpsConfig, simulate_fleet

    specs, bins, sites = load_reference(ROUTES_DIR)
    gps = GpsConfig(interval_s=args.day_interval_s)
    routes, fixes = [], []
    for i in range(days):
        on = date(2024, 5, 6) + timedelta(days=i)
        for spec, d in zip(
            specs,
            simulate_fleet(specs, bins, sites, day=on, seed=args.seed + i, gps=gps),
            strict=True,
        ):
            routes.append(net[spec.route_id])
            g = d.gps
            fixes.append(TraceFixes(g.t_s, g.lon, g.lat, g.speed_mps, g.accuracy_m))
    return routes, fixes


def _day_rows(net, args) -> None:
    """A simulated day of every truck: lockstep, one trace at a time, and naive; then
    several days in one lockstep, as a backfill would run them."""
    routes, fixes = _simulated_days(net, args, 1)
    n = sum(len(f.t_s) for f in fixes)
    sims = [SimRoute(g, np.zeros(1), np.zeros(1, dtype=np.int64)) for g in routes]
    lock = (_best_s(args.repeats, lambda: match_traces(routes, fixes)), _CPU_S[0])
    pairs = list(zip(routes, fixes, strict=True))
    alone = (_best_s(1, lambda: [match_traces([r], [f]) for r, f in pairs]), _CPU_S[0])
    on_sims = list(zip(sims, fixes, strict=True))
    naive_s = _best_s(args.repeats, lambda: [naive(s, f.lon, f.lat, 50.0) for s, f in on_sims])
    f0 = fixes[0]
    live_us, naive_us = _per_fix_us(routes[0], f0.t_s, f0.lon, f0.lat, f0.speed_mps)
    label = f"day of {len(fixes)} trucks, {args.day_interval_s:g} s fixes"
    rows = [(f"{label}, lockstep", lock), (f"{label}, one trace at a time", alone)]
    _print_rows(rows, len(fixes), n, n / naive_s, live_us, naive_us)
    if args.days > 1:
        routes, fixes = _simulated_days(net, args, args.days)
        n = sum(len(f.t_s) for f in fixes)
        on_sims = [(SimRoute(g, np.zeros(1), np.zeros(1, dtype=np.int64)), f)
                   for g, f in zip(routes, fixes, strict=True)]  # fmt: skip
        lock = (_best_s(1, lambda: match_traces(routes, fixes)), _CPU_S[0])
        naive_s = _best_s(1, lambda: [naive(s, f.lon, f.lat, 50.0) for s, f in on_sims])
        rows = [(f"{args.days} days x 50 trucks, lockstep", lock)]
        _print_rows(rows, len(fixes), n, n / naive_s, live_us, naive_us)


def _print_rows(rows, traces: int, n: int, naive_fps: float, live_us, naive_us) -> None:
    for label, (secs, cpu) in rows:
        print(
            f"| {label} | {traces} | {n} | {n / secs:,.0f} | {n / cpu:,.0f} | {naive_fps:,.0f}"
            f" | {live_us:.1f} | {naive_us:.1f} |"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--routes", type=int, default=3, help="routes per accuracy cell")
    p.add_argument("--length-m", type=float, default=8000.0, help="route length")
    p.add_argument("--samples", type=float, nargs="+", default=[1.0, 5.0])
    p.add_argument("--sigmas", type=float, nargs="+", default=[5.0, 15.0, 30.0])
    p.add_argument("--fixes", type=int, default=50_000, help="fixes for throughput")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3, help="best of, for throughput")
    p.add_argument("--day-interval-s", type=float, default=1.0, help="fix interval, day run")
    p.add_argument("--days", type=int, default=4, help="days in the backfill lockstep row")
    p.add_argument("--no-accuracy", action="store_true", help="devices send no accuracy")
    p.add_argument("--no-ceiling", action="store_true", help="skip the known-pass reference rows")
    p.add_argument("--only", choices=["accuracy", "throughput"], help="run one part")
    args = p.parse_args()
    if args.only != "throughput":
        accuracy(args)
    if args.only != "accuracy":
        throughput(args)


if __name__ == "__main__":
    main()
