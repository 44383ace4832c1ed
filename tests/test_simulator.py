"""The simulated trucks behave like trucks and their phones like phones."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import LineString, Point

from fleet.geo import to_lonlat, to_metric
from fleet.simulator import (
    BinSpec,
    GpsConfig,
    RouteSpec,
    SimFix,
    SiteSpec,
    TruckTrace,
    merge_traces,
    simulate_fleet,
    simulate_truck,
)

DAY = date(2025, 3, 4)
X0, Y0 = 565000.0, 8875000.0
QUIET = GpsConfig(noise_sigma_m=0.0, outlier_prob=0.0, dropout_prob=0.0)


def lonlat_line(xy: list[tuple[float, float]]) -> LineString:
    arr = np.array(xy)
    lon, lat = to_lonlat(arr[:, 0], arr[:, 1])
    return LineString(np.column_stack([lon, lat]))


def lonlat_square(x: float, y: float, half_m: float = 40.0) -> shapely.Polygon:
    ring = [(x - half_m, y - half_m), (x + half_m, y - half_m), (x + half_m, y + half_m)]
    ring += [(x - half_m, y + half_m)]
    return shapely.Polygon(shapely.get_coordinates(lonlat_line(ring)))


def make_route(truck_id: str = "KP-01", legs: int = 16) -> RouteSpec:
    """A grid walk: 400 m east, 300 m north, repeated; a 90 degree corner at every vertex."""
    xy = [(X0, Y0)]
    for i in range(legs):
        x, y = xy[-1]
        xy.append((x + 400.0, y) if i % 2 == 0 else (x, y + 300.0))
    line = lonlat_line(xy)
    return RouteSpec(truck_id, truck_id, "Oebobo", line, time(6), time(13), 300.0, 5000.0)


@pytest.fixture
def route() -> RouteSpec:
    return make_route()


@pytest.fixture
def bins() -> list[BinSpec]:
    return [BinSpec(f"B{i:02}", "KP-01", 400.0 + 200.0 * i, i % 4 != 3) for i in range(20)]


@pytest.fixture
def sites() -> list[SiteSpec]:
    return [
        SiteSpec(
            "TPS", "processing", "TPS3R Liliba", "Oebobo", lonlat_square(X0 + 4000, Y0 + 4000)
        ),
        SiteSpec("TPS-X", "processing", "elsewhere", "Alak", lonlat_square(X0 - 3000, Y0)),
        SiteSpec("TPA", "landfill", "TPA Alak", "Alak", lonlat_square(X0 - 5000, Y0 - 2000)),
    ]


def fixes_of(trace: TruckTrace) -> list[SimFix]:
    return list(trace)


def error_m(fixes: list[SimFix]) -> np.ndarray:
    """Reported minus true position, metres, per axis."""
    rx, ry = to_metric([f.lon for f in fixes], [f.lat for f in fixes])
    tx, ty = to_metric([f.truth.lon for f in fixes], [f.truth.lat for f in fixes])
    return np.column_stack([rx - tx, ry - ty])


def test_same_seed_same_day_and_other_seed_other_day(route, bins, sites):
    one = fixes_of(simulate_truck(route, bins, sites, day=DAY, seed=7))
    again = fixes_of(simulate_truck(route, bins, sites, day=DAY, seed=7))
    other = fixes_of(simulate_truck(route, bins, sites, day=DAY, seed=8))
    assert one == again
    assert [f.truth for f in one] == [f.truth for f in again]
    assert one != other


def test_day_starts_at_shift_start_wita_and_reports_every_interval(route, bins, sites):
    fixes = fixes_of(simulate_truck(route, bins, sites, day=DAY, gps=QUIET))
    assert fixes[0].t == datetime(2025, 3, 3, 22, 0, tzinfo=UTC)  # 06:00 WITA
    steps = {(b.t - a.t).total_seconds() for a, b in zip(fixes, fixes[1:], strict=False)}
    assert steps == {5.0}


def test_moving_speeds_stay_between_15_and_40_kmh(route, bins, sites):
    fixes = fixes_of(simulate_truck(route, bins, sites, day=DAY, seed=3))
    moving = np.array([f.speed_mps for f in fixes if f.speed_mps > 0]) * 3.6
    assert len(moving) > 100
    assert moving.min() >= 15.0 - 0.05 and moving.max() <= 40.0 + 0.05
    assert moving.max() - moving.min() > 15.0  # speeds vary by stretch


def test_trucks_slow_down_around_corners(route, bins, sites):
    trace = simulate_truck(route, bins, sites, day=DAY, seed=4)
    tl = trace.timeline
    moving = tl.speed_mps > 0
    corner_m = np.cumsum([400.0 if i % 2 == 0 else 300.0 for i in range(15)])
    near = np.min(np.abs(tl.start_m[:, None] - corner_m[None, :]), axis=1) < 20.0
    assert np.all(tl.speed_mps[moving & near] * 3.6 <= 20.0 + 1e-6)


def test_installed_bins_get_one_stop_of_20_to_60_s_and_planned_bins_none(route, bins, sites):
    tl = simulate_truck(route, bins, sites, day=DAY, seed=5).timeline
    at_bin = tl.label.astype(str)
    stops = {label: float(d) for label, d in zip(at_bin, tl.end_s - tl.start_s, strict=True)}
    installed = {b.bin_id for b in bins if b.installed}
    planned = {b.bin_id for b in bins if not b.installed}
    assert installed <= set(at_bin)
    assert not planned & set(at_bin)
    assert all(20.0 <= stops[b] <= 60.0 for b in installed)
    assert all(tl.speed_mps[at_bin == b][0] == 0.0 for b in installed)


def test_fixes_at_a_bin_stand_still_at_the_bins_measure(route, bins, sites):
    fixes = fixes_of(simulate_truck(route, bins, sites, day=DAY, seed=5, gps=QUIET))
    by_id = {b.bin_id: b for b in bins}
    at = [f for f in fixes if f.truth.at_bin]
    assert at, "a 5 s sampling must catch some of the 20-60 s stops"
    for f in at:
        assert f.speed_mps == 0.0
        assert f.truth.progress_m == pytest.approx(by_id[f.truth.at_bin].progress_m, abs=0.5)


def test_gps_noise_has_the_configured_sigma(route, bins, sites):
    gps = GpsConfig(noise_sigma_m=8.0, outlier_prob=0.0, dropout_prob=0.0)
    traces = simulate_fleet([make_route(f"T{i}") for i in range(6)], bins, sites, day=DAY, gps=gps)
    err = error_m([f for tr in traces for f in tr])
    assert np.std(err, axis=0) == pytest.approx([8.0, 8.0], rel=0.2)
    assert np.all(np.abs(np.mean(err, axis=0)) < 2.0)


def test_outliers_land_about_150_m_away_and_dropouts_leave_gaps(route, bins, sites):
    gps = GpsConfig(noise_sigma_m=3.0, outlier_prob=0.03, dropout_prob=0.01)
    fixes = fixes_of(simulate_truck(route, bins, sites, day=DAY, seed=2, gps=gps))
    dist = np.hypot(*error_m(fixes).T)
    outliers = np.array([f.truth.outlier for f in fixes])
    assert outliers.sum() > 5
    assert 100.0 < np.median(dist[outliers]) < 200.0
    assert np.max(dist[~outliers]) < 30.0
    steps = np.diff([f.t.timestamp() for f in fixes])
    assert steps.max() >= 10.0 and np.all(steps % 5.0 == 0.0)


def test_truth_progress_only_increases_along_the_route(route, bins, sites):
    fixes = fixes_of(simulate_truck(route, bins, sites, day=DAY, seed=6, gps=QUIET))
    on_route = [f.truth.progress_m for f in fixes if f.truth.phase == "route"]
    assert on_route[0] < 50.0 and on_route[-1] > 4900.0
    assert np.all(np.diff(on_route) >= 0.0)


def test_after_collection_the_truck_dumps_at_its_site_and_returns(route, bins, sites):
    fixes = fixes_of(simulate_truck(route, bins, sites, day=DAY, seed=6, gps=QUIET))
    phases = [f.truth.phase for f in fixes]
    order = list(dict.fromkeys(phases))
    assert order == ["route", "to_site", "at_site", "to_depot"]
    dump = [Point(f.lon, f.lat) for f in fixes if f.truth.phase == "at_site"]
    assert len(dump) * 5 >= 600  # at least ten minutes at the site
    assert all(sites[0].geometry.contains(p) or sites[2].geometry.contains(p) for p in dump)


def test_about_one_truck_in_seven_takes_its_load_to_tpa_alak(bins, sites):
    routes = [make_route(f"T{i:03}", legs=4) for i in range(120)]
    traces = simulate_fleet(routes, [], sites, day=DAY, gps=QUIET)
    tpa = sites[2].geometry
    to_tpa = [
        any(tpa.contains(Point(f.lon, f.lat)) for f in tr if f.truth.phase == "at_site")
        for tr in traces
    ]
    assert 0.05 < np.mean(to_tpa) < 0.3


def test_heading_points_along_the_street_when_moving(route, bins, sites):
    fixes = fixes_of(simulate_truck(route, bins, sites, day=DAY, gps=QUIET))
    on_route = [f for f in fixes if f.truth.phase == "route" and f.speed_mps > 0]
    first_leg = [f for f in on_route if 30.0 < f.truth.progress_m < 370.0]
    headings = np.array([f.heading_deg for f in first_leg])
    assert np.all(np.abs(headings - 90.0) < 10.0)  # east, within grid convergence and noise


def test_mid_shift_start_spreads_trucks_along_their_routes(bins, sites):
    start = datetime(2025, 3, 4, 1, 30, tzinfo=UTC)
    routes = [make_route(f"T{i}") for i in range(8)]
    traces = simulate_fleet(routes, bins, sites, day=DAY, start=start, gps=QUIET)
    firsts = [next(iter(tr)) for tr in traces]
    assert all(f.t == start for f in firsts)
    progress = [f.truth.progress_m or 0.0 for f in firsts]
    assert len({round(p) for p in progress}) == len(firsts)
    assert max(progress) > 1000.0


def test_merged_fleet_is_in_time_order(bins, sites):
    routes = [replace(make_route(f"T{i}"), shift_start=time(6, i)) for i in range(4)]
    merged = list(merge_traces(simulate_fleet(routes, bins, sites, day=DAY)))
    times = [f.t for f in merged]
    assert times == sorted(times)
    assert {f.truck_id for f in merged} == {"T0", "T1", "T2", "T3"}


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), interval_s=st.sampled_from([1.0, 2.0, 5.0, 10.0]))
def test_any_day_reports_plausible_fixes(seed, interval_s):
    gps = GpsConfig(interval_s=interval_s)
    route = make_route(legs=4)
    fixes = list(simulate_truck(route, [], [], day=DAY, seed=seed, gps=gps))
    speeds = np.array([f.speed_mps for f in fixes]) * 3.6
    assert np.all((speeds == 0.0) | ((speeds >= 14.95) & (speeds <= 40.05)))
    assert all(0.0 <= f.heading_deg < 360.0 and f.accuracy_m > 0 for f in fixes)
    assert all(5.0 <= f.battery_pct <= 100.0 for f in fixes)
    assert all(b.t > a.t for a, b in zip(fixes, fixes[1:], strict=False))
