"""Each named scenario leaves the trace it promises, and a whole run reaches the server."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import date, time

import numpy as np
import pytest
import shapely
from test_devices import RecordingServer
from test_simulator import lonlat_line, lonlat_square

from fleet.devices import RetryPolicy, SimDevice
from fleet.geo import to_metric
from fleet.scenarios import SCENARIOS, build_scenario
from fleet.simrun import assign_protocols, run_simulation
from fleet.simulator import BinSpec, GpsConfig, RouteSpec, SiteSpec, simulate_truck

DAY = date(2025, 3, 4)
X0, Y0 = 565000.0, 8875000.0
FAST = RetryPolicy(base_s=0.01, max_s=0.05, attempts=3, timeout_s=2.0, jitter=0.0)
SPARSE = GpsConfig(interval_s=30.0, dropout_prob=0.0)


def long_route(truck_id: str, legs: int = 120) -> RouteSpec:
    """A grid walk long enough for a three-hour day."""
    xy = [(X0, Y0)]
    for i in range(legs):
        x, y = xy[-1]
        xy.append((x + 400.0, y) if i % 2 == 0 else (x, y + 300.0))
    length_m = 350.0 * legs
    return RouteSpec(
        truck_id, truck_id, "Oebobo", lonlat_line(xy), time(6), time(13), 300.0, length_m - 300.0
    )


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    srv = RecordingServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def sites() -> list[SiteSpec]:
    return [SiteSpec("TPS", "processing", "Liliba", "Oebobo", lonlat_square(X0, Y0 + 3000))]


def scenario_for(name: str, truck_id: str = "KP-01"):
    return build_scenario(name, [truck_id], seed=1)


def test_every_scenario_is_described_and_buildable():
    assert set(SCENARIOS) == {
        "normal", "skip-street", "breakdown", "offline-hour", "clock-skew", "duplicates"
    }  # fmt: skip
    assert all(len(text) > 20 for text in SCENARIOS.values())
    trucks = [f"KP-{i:02}" for i in range(1, 51)]
    for name in SCENARIOS:
        assert build_scenario(name, trucks, seed=3) == build_scenario(name, trucks, seed=3)
    with pytest.raises(ValueError, match="unknown scenario"):
        build_scenario("meteor", trucks)


def test_skip_street_leaves_the_route_by_over_100_m_and_misses_its_bins(sites):
    route = long_route("KP-01", legs=30)
    bins = [BinSpec(f"B{i}", "KP-01", 500.0 + 100.0 * i, True) for i in range(90)]
    edit = scenario_for("skip-street").edits["KP-01"]
    fixes = list(simulate_truck(route, bins, sites, day=DAY, edit=edit, gps=SPARSE))
    x, y = to_metric([f.truth.lon for f in fixes], [f.truth.lat for f in fixes])
    line = shapely.LineString(np.column_stack(to_metric(*np.array(route.line.coords).T)))
    off_m = shapely.distance(shapely.points(x, y), line)
    phase = np.array([f.truth.phase for f in fixes])
    assert off_m[phase == "detour"].max() > 100.0
    assert off_m[phase == "route"].max() < 1.0
    visited = {f.truth.at_bin for f in fixes if f.truth.at_bin}
    lo, hi = (route.collection_start_m + f * 9900.0 for f in edit.skip_fraction)
    skipped = {b.bin_id for b in bins if lo < b.progress_m < hi}
    assert skipped and not skipped & visited


def test_breakdown_stops_the_truck_for_good(sites):
    route = long_route("KP-01", legs=30)
    edit = scenario_for("breakdown").edits["KP-01"]
    fixes = list(simulate_truck(route, [], sites, day=DAY, edit=edit, gps=SPARSE))
    broken = [i for i, f in enumerate(fixes) if f.truth.phase == "breakdown"]
    assert broken and broken[-1] == len(fixes) - 1
    tail = fixes[broken[0] :]
    assert all(f.speed_mps == 0.0 for f in tail)
    assert len({f.truth.progress_m for f in tail}) == 1
    assert (tail[-1].t - tail[0].t).total_seconds() >= 1800.0


def test_offline_hour_leaves_a_gap_then_sends_the_backlog(server, sites):
    faults = scenario_for("offline-hour").faults["KP-01"]
    fixes = list(simulate_truck(long_route("KP-01"), [], sites, day=DAY, gps=SPARSE))
    assert (fixes[-1].t - fixes[0].t).total_seconds() > 2.5 * 3600
    dev = SimDevice(server.url, "dev-01", "osmand-query", faults=faults, retry=FAST)
    lag_s = []
    for fix in fixes:
        before = len(server.requests)
        dev.submit(fix)
        for req in server.requests[before:]:
            lag_s.append(fix.t.timestamp() - int(dict(req.query)["timestamp"]))
    assert len(lag_s) == len(fixes)
    assert max(lag_s) == pytest.approx(3600.0, abs=30.0)
    assert sum(1 for lag in lag_s if lag > 0) == pytest.approx(3600.0 / 30.0, abs=2)
    stamps = [int(dict(r.query)["timestamp"]) for r in server.requests]
    assert stamps == sorted(stamps)


def test_clock_skew_puts_one_phone_3_min_ahead_and_one_10_min_behind(server):
    plan = build_scenario("clock-skew", ["KP-01", "KP-02", "KP-03"], seed=1)
    assert sorted(f.clock_offset_s for f in plan.faults.values()) == [-600.0, 180.0]
    route = long_route("KP-01", legs=4)
    fix = next(iter(simulate_truck(route, [], [], day=DAY)))
    for truck, faults in plan.faults.items():
        SimDevice(server.url, truck, "osmand-query", faults=faults, retry=FAST).submit(fix)
    sent = {dict(r.query)["id"]: int(dict(r.query)["timestamp"]) for r in server.requests}
    true_s = int(fix.t.timestamp())
    assert {t: s - true_s for t, s in sent.items()} == {
        t: f.clock_offset_s for t, f in plan.faults.items()
    }


def test_duplicates_send_the_same_fixes_twice(server):
    plan = build_scenario("duplicates", [f"KP-{i:02}" for i in range(1, 11)], seed=1)
    assert len(plan.faults) == 5
    truck, faults = sorted(plan.faults.items())[0]
    fixes = list(simulate_truck(long_route(truck, legs=10), [], [], day=DAY))
    dev = SimDevice(server.url, truck, "osmand-json", faults=faults, retry=FAST)
    for fix in fixes:
        dev.submit(fix)
    bodies = [r.body for r in server.requests]
    repeats = len(bodies) - len(set(bodies))
    assert repeats == dev.stats.resent
    assert 0.1 < repeats / len(fixes) < 0.3
    back_to_back = sum(a == b for a, b in zip(bodies, bodies[1:], strict=False))
    assert back_to_back == repeats  # each resend follows its original at once


def test_a_whole_run_delivers_every_fix_over_every_protocol(server, sites):
    routes = [long_route(f"KP-{i:02}", legs=6) for i in range(1, 11)]
    mix = {"osmand-query": 1, "osmand-form": 1, "osmand-json": 1, "generic-get": 1, "batch": 1}
    summary = run_simulation(
        server.url, routes, [], sites, speedup=0, protocol_mix=mix, progress=False,
        device_ids={"KP-01": "phone-1"}, retry=FAST, day=DAY,
    )  # fmt: skip
    totals = summary.by_protocol()
    assert set(totals) == set(mix)
    assert sum(s.acked for s in totals.values()) == summary.fixes > 0
    assert "phone-1" in summary.stats and "KP-01" not in summary.stats
    assert "total" in summary.table()
    paths = {r.path for r in server.requests}
    assert paths == {"/osmand", "/api/v1/pings"}


def test_a_paced_run_follows_the_speedup_and_stops_on_request(server, sites):
    routes = [long_route("KP-01", legs=6)]
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    summary = run_simulation(
        server.url, routes, [], sites, speedup=600.0, stop_event=stop, progress=False,
        retry=FAST, day=DAY, protocol_mix={"osmand-query": 1},
    )  # fmt: skip
    sent = summary.stats["KP-01"].fixes
    assert 0.9 <= summary.wall_s < 2.0
    assert sent == pytest.approx(600.0 / 5.0, abs=15)  # one simulated second = 1/600 s


def test_protocol_shares_are_split_by_largest_remainder():
    trucks = [f"KP-{i:02}" for i in range(1, 51)]
    mix = {"osmand-json": 0.5, "batch": 0.3, "osmand-query": 0.2}
    counts = Counter(str(p) for p in assign_protocols(trucks, mix).values())
    assert counts == {"osmand-json": 25, "batch": 15, "osmand-query": 10}
