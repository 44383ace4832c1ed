"""Route snapping as a dispatcher sees it: the truck is on the right pass of its route."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet import _snap_batch
from fleet.geo import to_lonlat, to_metric
from fleet.network import RouteGeometry
from fleet.snap import (
    Hypothesis,
    Matcher,
    MatchState,
    SnapConfig,
    TraceFixes,
    match_trace,
    match_traces,
    state_at,
)

X0, Y0 = (float(v) for v in to_metric(123.6, -10.17))


def make_route(xy_m: list[tuple[float, float]], route_id: str = "R") -> RouteGeometry:
    """A route from metric offsets (metres east, north) around central Kupang."""
    xy = np.asarray(xy_m, dtype=float) + (X0, Y0)
    lon, lat = to_lonlat(xy[:, 0], xy[:, 1])
    return RouteGeometry.build(route_id, shapely.LineString(np.c_[lon, lat]))


def fixes_along(route, progress_m, sigma_m=0.0, seed=0, shift_m=(0.0, 0.0)):
    """WGS84 fixes at given true progress values, with Gaussian noise."""
    x, y = route.xy_at(np.asarray(progress_m, dtype=float))
    rng = np.random.default_rng(seed)
    x = x + rng.normal(0.0, sigma_m, len(x)) + shift_m[0]
    y = y + rng.normal(0.0, sigma_m, len(y)) + shift_m[1]
    return to_lonlat(x, y)


def run(route, t, lon, lat, state=None, config=None):
    matcher = Matcher(route, config)
    results = []
    for k in range(len(t)):
        state, res = matcher.step(state, float(t[k]), float(lon[k]), float(lat[k]))
        results.append(res)
    return state, results


@pytest.fixture
def out_and_back() -> RouteGeometry:
    """Down a 600 m dead end and back up the same street, then north 400 m."""
    return make_route([(0, 0), (600, 0), (0, 1), (0, 400)])


@pytest.fixture
def block_twice() -> RouteGeometry:
    """Round a 300 x 200 m block twice, then away east: every street driven twice."""
    loop = [(0, 0), (300, 0), (300, 200), (0, 200), (0, 0)]
    return make_route(loop + loop[1:] + [(300, 0), (300, -10), (900, -10)])


def test_dead_end_out_and_back_follows_the_right_pass(out_and_back):
    truth = np.arange(0.0, out_and_back.length_m, 7.0)
    lon, lat = fixes_along(out_and_back, truth, sigma_m=10.0, seed=3)
    _, results = run(out_and_back, np.arange(len(truth)), lon, lat)
    err = np.array([r.progress_m for r in results]) - truth
    assert np.all(np.abs(err[5:]) < 35.0)
    assert all(r.on_route for r in results)


def test_block_driven_twice_counts_the_second_lap(block_twice):
    truth = np.arange(0.0, block_twice.length_m, 9.0)
    lon, lat = fixes_along(block_twice, truth, sigma_m=15.0, seed=4)
    _, results = run(block_twice, np.arange(len(truth)) * 1.0, lon, lat)
    err = np.array([r.progress_m for r in results]) - truth
    assert np.all(np.abs(err[5:]) < 45.0)


def test_u_turn_mid_street_is_followed_back():
    route = make_route([(0, 0), (400, 0), (200, 0.5), (200, 300)])
    truth = np.arange(0.0, route.length_m, 6.0)
    lon, lat = fixes_along(route, truth, sigma_m=8.0, seed=5)
    _, results = run(route, np.arange(len(truth)) * 1.0, lon, lat)
    err = np.array([r.progress_m for r in results]) - truth
    assert np.all(np.abs(err[5:]) < 30.0)


def test_skipped_street_is_rejoined_far_ahead():
    # A serpentine over three parallel streets 200 m apart; the truck leaves the first
    # at x = 150, cuts north across the second and rejoins the third far ahead.
    route = make_route([(0, 0), (600, 0), (600, 200), (0, 200), (0, 400), (600, 400)])
    before = np.arange(0.0, 150.0, 8.0)
    after = np.arange(1750.0, 2000.0, 8.0)
    cut_y = np.arange(20.0, 400.0, 8.0)
    cut_x, cut_y = cut_y * 0 + 150.0 + X0, cut_y + Y0
    lon_a, lat_a = fixes_along(route, before, sigma_m=5.0)
    lon_c, lat_c = to_lonlat(cut_x, cut_y)
    lon_b, lat_b = fixes_along(route, after, sigma_m=5.0)
    lon, lat = np.r_[lon_a, lon_c, lon_b], np.r_[lat_a, lat_c, lat_b]
    _, results = run(route, np.arange(len(lon)) * 1.0, lon, lat)
    assert not results[len(before) + 12].on_route
    rejoined = results[-len(after) + 5 :]
    assert all(r.on_route for r in rejoined)
    err = np.array([r.progress_m for r in rejoined]) - after[5:]
    assert np.all(np.abs(err) < 30.0)


def test_going_back_along_the_route_follows_the_truck(out_and_back):
    truth = np.r_[np.arange(0.0, 400.0, 6.0), np.arange(400.0, 250.0, -6.0)]
    lon, lat = fixes_along(out_and_back, truth, sigma_m=5.0, seed=6)
    _, results = run(out_and_back, np.arange(len(truth)) * 1.0, lon, lat)
    assert abs(results[-1].progress_m - 250.0) < 30.0
    assert results[-1].on_route


def test_a_single_outlier_leaves_progress_alone(out_and_back):
    truth = np.arange(0.0, 300.0, 6.0)
    lon, lat = fixes_along(out_and_back, truth, sigma_m=5.0, seed=7)
    x, y = to_metric(lon[30], lat[30])
    lon[30], lat[30] = to_lonlat(x, y + 150.0)
    _, results = run(out_and_back, np.arange(len(truth)) * 1.0, lon, lat)
    assert results[30].progress_m == results[29].progress_m
    assert results[30].on_route and results[30].confidence == 0.0
    assert abs(results[31].progress_m - truth[31]) < 20.0


def test_off_route_needs_several_consecutive_fixes(out_and_back):
    truth = np.arange(0.0, 200.0, 5.0)
    lon, lat = fixes_along(out_and_back, truth)
    x, y = to_metric(lon, lat)
    far = [(10, 12), (20, 24)]  # two far fixes, then four
    for a, b in far:
        lon[a:b], lat[a:b] = to_lonlat(x[a:b], y[a:b] + 80.0)
    _, results = run(out_and_back, np.arange(len(truth)) * 1.0, lon, lat)
    on = [r.on_route for r in results]
    assert all(on[:20])
    assert on[20:24] == [True, True, False, False]
    assert on[24:26] == [False, True]
    assert results[23].offset_m == pytest.approx(80.0, abs=1.0)


def test_a_late_fix_is_matched_against_history(out_and_back):
    lon, lat = fixes_along(out_and_back, [310.0])
    # The live truck is already on the way back over the same street (measure 890),
    # but the late fix belongs to the outbound pass at t = 100 s.
    history = state_at(300.0, 100.0)
    _, late = Matcher(out_and_back).step(history, 101.5, float(lon[0]), float(lat[0]))
    assert late.progress_m == pytest.approx(310.0, abs=5.0)


def test_state_round_trips_through_json(block_twice):
    truth = np.arange(0.0, 400.0, 8.0)
    lon, lat = fixes_along(block_twice, truth, sigma_m=15.0)
    state, _ = run(block_twice, np.arange(len(truth)) * 1.0, lon, lat)
    again = MatchState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert again == state
    m = Matcher(block_twice)
    assert m.step(again, 60.0, lon[-1], lat[-1]) == m.step(state, 60.0, lon[-1], lat[-1])


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    sigma=st.sampled_from([3.0, 15.0, 30.0]),
    dt=st.sampled_from([1.0, 5.0]),
    outliers=st.lists(st.integers(0, 79), max_size=4),
    with_accuracy=st.booleans(),
)
def test_batch_gives_the_same_answers_as_live(seed, sigma, dt, outliers, with_accuracy):
    route = _BLOCK
    rng = np.random.default_rng(seed)
    truth = np.cumsum(rng.uniform(0.0, 9.0 * dt, 80)) % route.length_m
    lon, lat = fixes_along(route, truth, sigma_m=sigma, seed=seed)
    x, y = to_metric(lon, lat)
    y[outliers] += 150.0
    lon, lat = to_lonlat(x, y)
    t = np.arange(80) * dt
    acc = rng.uniform(3.0, 40.0, 80) if with_accuracy else None
    batch = match_trace(route, t, lon, lat, accuracy_m=acc)
    matcher, state = Matcher(route), None
    for k in range(80):
        a = None if acc is None else float(acc[k])
        state, res = matcher.step(state, float(t[k]), float(lon[k]), float(lat[k]), accuracy_m=a)
        assert res.progress_m == batch.progress_m[k]
        assert res.on_route == batch.on_route[k]
        assert res.offset_m == batch.offset_m[k]
        assert res.confidence == pytest.approx(batch.confidence[k], abs=1e-12)
        assert (res.snap_lon, res.snap_lat) == pytest.approx(
            (batch.snap_lon[k], batch.snap_lat[k]), abs=1e-9
        )
    assert state == batch.state


_BLOCK = make_route(
    [(0, 0), (300, 0), (300, 200), (0, 200), (0, 0), (300, 0), (300, 200), (0, 200), (0, 0)]
)


def test_config_off_route_threshold_is_respected(out_and_back):
    truth = np.arange(0.0, 100.0, 5.0)
    lon, lat = fixes_along(out_and_back, truth, shift_m=(0.0, 35.0))
    strict = SnapConfig(off_route_m=30.0)
    _, results = run(out_and_back, np.arange(len(truth)) * 1.0, lon, lat, config=strict)
    assert not results[-1].on_route
    _, results = run(out_and_back, np.arange(len(truth)) * 1.0, lon, lat)
    assert results[-1].on_route


def run_with_speed(route, t, truth, sigma_m, seed, accuracy_m=None):
    """Live matching of noisy fixes that report ground speed (and accuracy if given)."""
    lon, lat = fixes_along(route, truth, sigma_m=sigma_m, seed=seed)
    speed = np.abs(np.gradient(truth, t))
    matcher, state, out = Matcher(route), None, []
    for k in range(len(t)):
        state, res = matcher.step(
            state, float(t[k]), float(lon[k]), float(lat[k]), float(speed[k]), accuracy_m
        )
        out.append(res)
    return out


def test_a_truck_at_a_bin_stop_does_not_creep_through_the_junction():
    """A parked device reports a few tenths of a m/s of jitter, never negative: taken at
    face value it moved the truck metres along a two-minute stop, onto the next street."""
    corner = make_route([(0.0, 0.0), (200.0, 0.0), (200.0, 200.0)])
    t = np.arange(0.0, 180.0, 1.0)
    truth = np.where(t < 60.0, t * 197.0 / 60.0, 197.0)  # stops 3 m before the corner
    lon, lat = fixes_along(corner, truth, sigma_m=5.0, seed=3)
    jitter = np.random.default_rng(4).uniform(0.0, 0.4, t.size)
    speed = np.where(t < 60.0, 197.0 / 60.0, jitter)
    matcher, state, stopped = Matcher(corner), None, []
    for k in range(t.size):
        state, res = matcher.step(state, float(t[k]), float(lon[k]), float(lat[k]), float(speed[k]))
        if t[k] >= 90.0:
            stopped.append(res.progress_m)
    assert max(stopped) < 200.0  # never round the corner while parked
    assert abs(float(np.median(stopped)) - 197.0) < 1.5


def test_a_truck_stopped_on_a_street_driven_twice_keeps_its_pass(block_twice):
    # First lap to the middle of the north street, two minutes at a bin, then on.
    t = np.arange(0.0, 400.0, 5.0)
    truth = np.clip(
        np.where(t < 100, t * 7.0, np.where(t < 220, 700.0, 700 + (t - 220) * 7)), 0, 1800
    )
    results = run_with_speed(block_twice, t, truth, sigma_m=15.0, seed=11)
    err = np.array([r.progress_m for r in results]) - truth
    assert np.all(np.abs(err[3:]) < 40.0)


def test_a_dead_end_turnaround_is_followed_at_five_second_fixes(out_and_back):
    t = np.arange(0.0, 200.0, 5.0)
    truth = np.minimum(t * 7.0, out_and_back.length_m)
    results = run_with_speed(out_and_back, t, truth, sigma_m=15.0, seed=12)
    err = np.array([r.progress_m for r in results]) - truth
    assert np.all(np.abs(err[3:]) < 40.0)
    assert all(r.on_route for r in results)


def test_sigma_30_noise_does_not_flip_off_route():
    route = make_route([(0, 0), (3000, 0)])
    t = np.arange(0.0, 600.0, 1.0)
    results = run_with_speed(route, t, t * 5.0, sigma_m=30.0, seed=13, accuracy_m=30.0)
    assert all(r.on_route for r in results)
    err = np.array([r.progress_m for r in results]) - t * 5.0
    assert np.percentile(np.abs(err), 95) < 25.0


def test_a_state_stored_before_held_was_added_still_loads(block_twice):
    old = {
        "t_s": 10.0,
        "hypotheses": [
            {"progress_m": 50.0, "speed_mps": 5.0, "score": 0.0, "t_s": 10.0, "updates": 4}
        ],
        "on_route": True,
        "far_run": 0,
        "near_run": 3,
    }
    state = MatchState.from_dict(old)
    lon, lat = fixes_along(block_twice, [75.0])
    _, res = Matcher(block_twice).step(state, 15.0, float(lon[0]), float(lat[0]), 5.0)
    assert res.progress_m == pytest.approx(75.0, abs=5.0)


def assert_same_as_live(route, fixes: TraceFixes, batch, config=None):
    """Every per-fix answer and the final state equal the live step loop's, bit for bit."""
    n = len(fixes.t_s)
    spd = [None] * n if fixes.speed_mps is None else np.asarray(fixes.speed_mps).tolist()
    acc = [None] * n if fixes.accuracy_m is None else np.asarray(fixes.accuracy_m).tolist()
    t, lon, lat = (np.asarray(a).tolist() for a in (fixes.t_s, fixes.lon, fixes.lat))
    matcher, state = Matcher(route, config), fixes.state
    for k in range(n):
        state, res = matcher.step(state, t[k], lon[k], lat[k], spd[k], acc[k])
        got = (batch.progress_m[k], batch.offset_m[k], batch.on_route[k], batch.confidence[k])
        assert (res.progress_m, res.offset_m, res.on_route, res.confidence) == got, k
        assert (res.snap_lon, res.snap_lat) == pytest.approx(
            (batch.snap_lon[k], batch.snap_lat[k]), abs=1e-9
        )
    assert batch.state == (state if n else None)


_ROUTES = [
    _BLOCK,
    make_route([(0, 0), (600, 0), (0, 1), (0, 400)], "OUT"),
    make_route([(0, 0), (400, 0), (200, 0.5), (200, 300), (500, 300)], "UTURN"),
]


@st.composite
def lockstep_traces(draw):
    """4-7 trucks on the test routes: lengths, noise, outliers, stops (reported speeds
    below and just above the standstill threshold), missing speed or accuracy, and a
    prior state all vary by truck, so lanes start, end and branch apart."""
    rows = []
    for _ in range(draw(st.integers(4, 7))):
        route = _ROUTES[draw(st.integers(0, len(_ROUTES) - 1))]
        n, seed = draw(st.integers(0, 70)), draw(st.integers(0, 2**16))
        rng = np.random.default_rng(seed)
        dt = draw(st.sampled_from([1.0, 5.0]))
        moves = rng.uniform(-2.0 * dt, 9.0 * dt, n)
        stopped = rng.random(n) < draw(st.sampled_from([0.0, 0.3]))  # bin stops
        moves[stopped] = 0.0
        truth = np.cumsum(moves) % route.length_m
        lon, lat = fixes_along(route, truth, sigma_m=draw(st.sampled_from([3.0, 15.0, 40.0])))
        x, y = to_metric(lon, lat)
        y[rng.random(n) < draw(st.sampled_from([0.0, 0.05, 0.3]))] += 150.0
        lon, lat = to_lonlat(x, y)
        speed = np.abs(np.gradient(truth)) / dt if n > 1 else np.zeros(n)
        speed[stopped] = rng.uniform(0.0, 0.6, int(stopped.sum()))  # jitter, some exactly 0
        speed[stopped & (rng.random(n) < 0.3)] = 0.0
        speed[rng.random(n) < draw(st.sampled_from([0.0, 0.2, 1.0]))] = np.nan
        acc = rng.uniform(3.0, 40.0, n) if draw(st.booleans()) else None
        prior = state_at(float(truth[0]) if n else 0.0, -10.0) if draw(st.booleans()) else None
        t = np.arange(n) * dt
        rows.append((route, TraceFixes(t, lon, lat, speed, acc, prior)))
    return rows


@settings(max_examples=30, deadline=None)
@given(rows=lockstep_traces())
def test_many_traces_in_lockstep_give_the_live_answers(rows):
    routes, fixes = zip(*rows, strict=True)
    stepped, alone = lockstep(routes, fixes), match_traces(routes, fixes)
    for route, fx, batch, one in zip(routes, fixes, stepped, alone, strict=True):
        assert_same_as_live(route, fx, batch)
        assert_same_match(one, batch)


def lockstep(routes, fixes):
    """``match_traces`` with the lockstep kept down to the last lane (a handful of test
    traces would otherwise run one by one, which is faster for so few), its rows laid out
    a few steps at a time so that lanes finish within a chunk."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_snap_batch, "LOCKSTEP_MIN_LANES", 2)
        mp.setattr(_snap_batch, "_CHUNK_STEPS", 7)
        return match_traces(routes, fixes)


def assert_same_match(a, b):
    for name in ("progress_m", "snap_lon", "snap_lat", "offset_m", "on_route", "confidence"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.state == b.state


def _tracks():
    """``simulations/tracks.py``, the benchmark's trace generator (not a package)."""
    path = Path(__file__).resolve().parents[1] / "simulations" / "tracks.py"
    spec = importlib.util.spec_from_file_location("bench_tracks", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_benchmark_drives_in_lockstep_give_the_live_answers():
    tracks, rng = _tracks(), np.random.default_rng(21)
    route = tracks.plan_route(tracks.street_grid(rng, 8, 8), rng, "B", 2500.0)
    rows = []
    for sample_s, sigma in [(1.0, 15.0), (5.0, 30.0), (1.0, 5.0), (5.0, 15.0)]:
        tr = tracks.drive(route, rng, sample_s, sigma)
        speed = tr.speed_mps if sample_s == 1.0 else None
        rows.append(TraceFixes(tr.t_s, tr.lon, tr.lat, speed, tr.accuracy_m))
    results = lockstep([route.geometry] * len(rows), rows)
    for fx, batch in zip(rows, results, strict=True):
        assert_same_as_live(route.geometry, fx, batch)


def drive_with_excursion(route, leave_m, away_xy_m, t_step=5.0, speed=10.0, wait_s=120.0):
    """Truth and fixes (metric) of a truck that drives its route to ``leave_m``, drives
    the polyline ``away_xy_m`` (offsets) out and back at ``speed`` reporting that speed,
    waits at its far end, then drives on along its route at 7 m/s."""
    start = np.arange(0.0, leave_m, 7.0 * t_step)
    px, py = route.xy_at(start)
    away = np.asarray(away_xy_m, dtype=float) + (X0, Y0)
    line = shapely.LineString(away)
    out = line.interpolate(np.arange(0.0, line.length, speed * t_step))
    ox, oy = shapely.get_x(out), shapely.get_y(out)
    n_wait = int(wait_s / t_step)
    rest = np.arange(leave_m, route.length_m, 7.0 * t_step)
    rx, ry = route.xy_at(rest)
    x = np.r_[px, ox, np.full(n_wait, ox[-1]), ox[::-1], rx]
    y = np.r_[py, oy, np.full(n_wait, oy[-1]), oy[::-1], ry]
    speeds = np.r_[np.full(len(px), 7.0), np.full(len(ox), speed), np.zeros(n_wait),
                   np.full(len(ox), speed), np.full(len(rx), 7.0)]  # fmt: skip
    back_at = len(px) + 2 * len(ox) + n_wait
    truth = np.r_[start, np.full(back_at - len(start), leave_m), rest]
    return np.arange(len(x)) * t_step, x, y, speeds, truth, back_at


def match_excursion(route, t, x, y, speeds, sigma_m=15.0, seed=5):
    rng = np.random.default_rng(seed)
    lon, lat = to_lonlat(x + rng.normal(0, sigma_m, len(x)), y + rng.normal(0, sigma_m, len(y)))
    matcher, state, out = Matcher(route), None, []
    for k in range(len(t)):
        state, res = matcher.step(
            state, float(t[k]), float(lon[k]), float(lat[k]), float(speeds[k]), sigma_m
        )
        out.append(res)
    fixes = TraceFixes(t, lon, lat, speeds, np.full(len(t), sigma_m))
    assert_same_as_live(route, fixes, match_traces([route], [fixes])[0])
    return out


def test_a_truck_back_from_the_dump_resumes_where_it_left(block_twice):
    """It left the first lap's north street for a dump 600 m north, reporting the speed
    it drove there: that is not progress along the route, and the street's second lap
    (1 km further on) is no place to resume."""
    away = [(150.0, 200.0), (150.0, 800.0)]
    t, x, y, speeds, truth, back_at = drive_with_excursion(block_twice, 650.0, away)
    results = match_excursion(block_twice, t, x, y, speeds)
    err = np.array([r.progress_m for r in results]) - truth
    assert np.all(np.abs(err[back_at + 2 :]) < 40.0)
    assert not any(r.on_route for r in results[back_at - 20 : back_at - 10])


def test_a_truck_that_drives_along_its_route_on_the_way_resumes_where_it_left(block_twice):
    """On its way to the dump it drives 300 m along the end of its own route, there and
    back: it is on its route there, but that does not move where it resumes."""
    away = [(150.0, 200.0), (150.0, 500.0), (600.0, 500.0), (600.0, -10.0), (900.0, -10.0)]
    away += [(900.0, -600.0)]
    t, x, y, speeds, truth, back_at = drive_with_excursion(block_twice, 650.0, away)
    results = match_excursion(block_twice, t, x, y, speeds)
    err = np.array([r.progress_m for r in results]) - truth
    assert np.all(np.abs(err[back_at + 2 :]) < 40.0)


def test_a_stored_state_remembers_where_the_truck_left(block_twice):
    """The service stores each truck's state between pings: a round trip through JSON at
    every fix, mid-excursion included, gives the answers of one uninterrupted run."""
    away = [(150.0, 200.0), (150.0, 800.0)]
    t, x, y, speeds, _, _ = drive_with_excursion(block_twice, 650.0, away)
    lon, lat = to_lonlat(x, y)
    matcher, kept, stored = Matcher(block_twice), None, None
    for k in range(len(t)):
        fix = (float(t[k]), float(lon[k]), float(lat[k]), float(speeds[k]), 15.0)
        kept, a = matcher.step(kept, *fix)
        stored, b = matcher.step(stored, *fix)
        stored = MatchState.from_dict(json.loads(json.dumps(stored.to_dict())))
        assert a == b
    assert kept.left_m is not None and kept == stored


def test_a_truck_lost_by_every_hypothesis_is_found_again():
    """Four guesses that none of the fixes fit, all held: re-acquiring pays a jump cost
    once, holding a little each fix, so the newcomer needs a slot to prove itself in."""
    street = make_route([(0.0, 0.0), (3000.0, 0.0)])
    guesses = tuple(
        Hypothesis(m, 7.0, -0.1 * k, 0.0, 20, True) for k, m in enumerate((100, 300, 500, 700))
    )
    state = MatchState(0.0, guesses, True)
    truth = 2000.0 + 7.0 * np.arange(1.0, 30.0)
    lon, lat = fixes_along(street, truth, sigma_m=10.0, seed=2)
    _, results = run(street, np.arange(1.0, 30.0), lon, lat, state=state)
    err = np.abs(np.array([r.progress_m for r in results]) - truth)
    assert np.all(err[5:] < 30.0)


def test_a_truck_that_reaches_its_route_soon_after_leaving_resumes_where_it_left():
    """Four far fixes after leaving (a truck counts as off its route after three) it
    reaches another street of its route and drives 200 m along it, on to a dump and back
    the same way: that crossing neither moves where it left nor keeps it there."""
    route = make_route([(0, 0), (1000, 0), (1000, -300), (0, -300), (0, 0), (1000, 0)])
    away = [(400.0, 0.0), (400.0, -300.0), (200.0, -300.0), (200.0, -1000.0)]
    t, x, y, speeds, truth, back_at = drive_with_excursion(route, 400.0, away)
    matcher, state, results, lefts = Matcher(route), None, [], []
    lon, lat = to_lonlat(x, y)
    for k in range(len(t)):
        fix = (float(t[k]), float(lon[k]), float(lat[k]), float(speeds[k]), 15.0)
        state, res = matcher.step(state, *fix)
        results.append(res)
        lefts.append(state.left_m)
    # Where it left is dead-reckoned a fix or two on (no heading says it turned off).
    assert all(left is None or abs(left - 400.0) < 100.0 for left in lefts)
    err = np.array([r.progress_m for r in results]) - truth
    assert np.all(np.abs(err[back_at + 3 :]) < 40.0)


def test_trucks_on_trips_off_their_routes_give_the_live_answers_in_lockstep(block_twice):
    """Departures, crossings and returns of several trucks at once, through the lockstep
    and through its per-lane tail: the answers and states of the live step loop."""
    aways = (
        [(150.0, 200.0), (150.0, 800.0)],
        [(150.0, 200.0), (150.0, 500.0), (600.0, 500.0), (600.0, -10.0), (900.0, -10.0)],
        [(150.0, 200.0), (150.0, 0.0), (300.0, 0.0), (700.0, -400.0)],
    )
    fixes = []
    for k, away in enumerate(aways):
        t, x, y, speeds, _, _ = drive_with_excursion(block_twice, 650.0, away, t_step=3.0 + k)
        rng = np.random.default_rng(k)
        lon, lat = to_lonlat(x + rng.normal(0, 15, len(x)), y + rng.normal(0, 15, len(y)))
        fixes.append(TraceFixes(t, lon, lat, speeds, np.full(len(t), 15.0)))
    routes = [block_twice] * len(fixes)
    for tr, batch in zip(fixes, lockstep(routes, fixes), strict=True):
        assert_same_as_live(block_twice, tr, batch)
