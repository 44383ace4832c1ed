"""Our route snapping side by side with Valhalla's and OSRM's map matching.

Same synthetic streets and the same noisy traces (``tracks.py``) for four matchers:
ours (``fleet.snap.match_trace`` on the planned route), the naive nearest point on
the planned route, Valhalla ``trace_attributes`` and OSRM ``match`` on the whole
street graph. The two engines run in their own Python 3.12 venv
(``simulations/peers/setup.sh``) through ``simulations/peers/run_peers.py``; all four
are scored by ``simulations/peers/score.py``. Run from the repository root::

    bash simulations/peers/setup.sh          # once
    .venv/bin/python simulations/bench_peers.py [--routes 4] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from peers.export_network import PeerTrace, write_osm, write_traces
from peers.score import Score, Tally, edge_lines, score_points
from tracks import SimRoute, Streets, Trace, drive, plan_route, street_grid

from fleet.geo import to_metric
from fleet.snap import SnapConfig, match_trace

PEERS = Path(__file__).resolve().parent / "peers"
VENV_PYTHON = PEERS / ".venv312" / "bin" / "python"
SIGMAS_M = (5.0, 15.0, 30.0)
SAMPLES_S = (1.0, 5.0)
MATCHERS = ("ours", "naive", "valhalla", "osrm")
PEER_OPTIONS: dict[str, dict[str, object]] = {"valhalla": {}, "osrm": {}}


@dataclass(frozen=True)
class Case:
    """One trace of one route under one condition (GPS noise, sampling interval)."""

    trace_id: str
    sigma_m: float
    sample_s: float
    route: SimRoute
    trace: Trace


def make_cases(seed: int, n_routes: int) -> tuple[Streets, list[Case]]:
    """One street grid, ``n_routes`` routes on it, each driven under every condition."""
    rng = np.random.default_rng(seed)
    streets = street_grid(rng)
    routes = [plan_route(streets, rng, f"r{k}") for k in range(n_routes)]
    cases = []
    for sigma in SIGMAS_M:
        for sample in SAMPLES_S:
            for k, route in enumerate(routes):
                trace = drive(route, rng, sample_s=sample, sigma_m=sigma)
                cases.append(Case(f"s{sigma:g}-dt{sample:g}-r{k}", sigma, sample, route, trace))
    return streets, cases


def ours(case: Case) -> tuple[np.ndarray, np.ndarray, float]:
    """Our matcher on the planned route, told the trace's noise and the device speed."""
    tr, geom = case.trace, case.route.geometry
    start = time.perf_counter()
    result = match_trace(
        geom, tr.t_s, tr.lon, tr.lat, tr.speed_mps, config=SnapConfig(sigma_m=case.sigma_m)
    )
    elapsed = time.perf_counter() - start
    return *geom.xy_at(result.progress_m), elapsed


def naive(case: Case) -> tuple[np.ndarray, np.ndarray, float]:
    """Baseline: each fix to its nearest point on the planned route, no history."""
    tr, geom = case.trace, case.route.geometry
    start = time.perf_counter()
    line = shapely.LineString(np.c_[geom.x, geom.y])
    x, y = to_metric(tr.lon, tr.lat)
    progress = shapely.line_locate_point(line, shapely.points(x, y))
    px, py = geom.xy_at(progress)
    return px, py, time.perf_counter() - start


def run_peers(
    streets: Streets, cases: list[Case], workdir: Path, engines: list[str], options: str
) -> dict:
    """Export network and traces, match them in the 3.12 venv, read the matches back."""
    if not VENV_PYTHON.exists():
        sys.exit(f"no peer venv at {VENV_PYTHON}: run bash {PEERS / 'setup.sh'} first")
    workdir.mkdir(parents=True, exist_ok=True)
    network, traces, out = workdir / "streets.osm", workdir / "traces.json", workdir / "peers.json"
    write_osm(streets, network)
    write_traces([PeerTrace(c.trace_id, c.sigma_m, c.trace) for c in cases], traces)
    cmd = [str(VENV_PYTHON), str(PEERS / "run_peers.py"), "--network", str(network)]
    cmd += ["--traces", str(traces), "--workdir", str(workdir / "engines"), "--out", str(out)]
    cmd += ["--engines", *engines, "--options", options]
    subprocess.run(cmd, check=True)
    return json.loads(out.read_text())["engines"]


def peer_points(match: dict) -> tuple[np.ndarray, np.ndarray, float]:
    """An engine's matched points in metres (NaN where unmatched) and its seconds."""
    lon = np.array([np.nan if v is None else v for v in match["lon"]], dtype=float)
    lat = np.array([np.nan if v is None else v for v in match["lat"]], dtype=float)
    x, y = to_metric(lon, lat)
    return x, y, float(match["match_s"])


def tally(streets: Streets, cases: list[Case], engines: dict) -> dict[tuple, dict[str, Tally]]:
    """Every matcher's scores and time on every condition."""
    lines = edge_lines(streets)
    runs: dict[tuple, dict[str, list[tuple[Score, int, float]]]] = {}
    for case in cases:
        per = runs.setdefault((case.sigma_m, case.sample_s), {})
        found = {"ours": ours(case), "naive": naive(case)}
        for name, eng in engines.items():
            if "traces" in eng:
                found[name] = peer_points(eng["traces"][case.trace_id])
        for name, (x, y, secs) in found.items():
            score = score_points(x, y, case.route, case.trace, lines)
            per.setdefault(name, []).append((score, len(case.trace.t_s), secs))
    return {
        cond: {
            name: Tally(tuple(r[0] for r in rows), sum(r[1] for r in rows), sum(r[2] for r in rows))
            for name, rows in per.items()
        }
        for cond, per in runs.items()
    }


def print_table(tallies: dict[tuple, dict[str, Tally]], engines: dict) -> None:
    """One row per condition and matcher; engines that failed are named with the error."""
    for name, eng in engines.items():
        state = eng.get("error") or f"built in {eng['build_s']:.1f} s, options {eng['options']}"
        print(f"{name} {eng['version']}: {state}")
    head = f"{'σ m':>4} {'dt s':>4}  {'matcher':<9}{'fixes':>7}{'matched %':>11}"
    print(
        head
        + f"{'right edge %':>14}{'of matched':>12}{'err p50 m':>11}{'err p95 m':>11}{'fixes/s':>10}"
    )
    for (sigma, sample), per in sorted(tallies.items()):
        for name in [m for m in MATCHERS if m in per]:
            s = per[name].summary()
            print(
                f"{sigma:>4g} {sample:>4g}  {name:<9}{per[name].fixes:>7}{s['matched_pct']:>11.1f}"
                f"{s['right_edge_pct']:>14.1f}{s['right_of_matched_pct']:>12.1f}"
                f"{s['err_median_m']:>11.1f}{s['err_p95_m']:>11.1f}{s['fixes_per_s']:>10.0f}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--routes", type=int, default=4, help="routes per condition")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", type=Path, default=PEERS / "build")
    ap.add_argument("--engines", nargs="*", default=["valhalla", "osrm"], help="none: ours only")
    ap.add_argument("--options", default=json.dumps(PEER_OPTIONS), help="per-engine JSON")
    args = ap.parse_args()
    streets, cases = make_cases(args.seed, args.routes)
    engines = (
        run_peers(streets, cases, args.workdir, args.engines, args.options) if args.engines else {}
    )
    print_table(tally(streets, cases, engines), engines)


if __name__ == "__main__":
    main()
