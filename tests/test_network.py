"""Route geometry: measures, stretches and candidate passes."""

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.geo import to_lonlat, to_metric
from fleet.network import RouteGeometry, RouteNetwork

X0, Y0 = (float(v) for v in to_metric(123.6, -10.17))


def line(xy_m):
    xy = np.asarray(xy_m, dtype=float) + (X0, Y0)
    lon, lat = to_lonlat(xy[:, 0], xy[:, 1])
    return shapely.LineString(np.c_[lon, lat])


@pytest.fixture
def out_and_back():
    return RouteGeometry.build("KP-01", line([(0, 0), (500, 0), (500, 0), (0, 0.5)]))


def test_measure_runs_in_drive_order(out_and_back):
    assert out_and_back.length_m == pytest.approx(1000.0, abs=0.1)
    x, y = out_and_back.xy_at([0.0, 250.0, 750.0, 5000.0])
    assert np.allclose(x - X0, [0.0, 250.0, 250.0, 0.0], atol=0.01)


def test_a_street_driven_twice_gives_one_candidate_per_pass(out_and_back):
    c = out_and_back.candidates(np.array([X0 + 200.0]), np.array([Y0 + 12.0]), 50.0)
    assert c.progress_m == pytest.approx([200.0, 800.0], abs=0.1)
    assert c.offset_m == pytest.approx([12.0, 11.7], abs=0.1)


def test_candidates_beyond_the_gate_are_dropped(out_and_back):
    c = out_and_back.candidates(np.array([X0 + 200.0]), np.array([Y0 + 80.0]), 50.0)
    assert len(c.fix) == 0
    assert out_and_back.distance_m(X0 + 200.0, Y0 + 80.0)[0] == pytest.approx(79.7, abs=0.1)


def test_stretch_is_the_driven_part_in_lon_lat(out_and_back):
    part = out_and_back.stretch(100.0, 600.0)
    x, y = to_metric(*shapely.get_coordinates(part).T)
    assert shapely.LineString(np.c_[x, y]).length == pytest.approx(500.0, abs=0.1)
    assert x[0] - X0 == pytest.approx(100.0, abs=0.01)


@settings(max_examples=60, deadline=None)
@given(
    px=st.floats(-100.0, 600.0),
    py=st.floats(-80.0, 80.0),
    lo=st.floats(-50.0, 1000.0),
    width=st.floats(0.0, 600.0),
)
def test_window_candidates_equal_the_indexed_ones(px, py, lo, width):
    route = RouteGeometry.build("Z", line([(0, 0), (300, 0), (300, 40), (100, 40), (100, -30)]))
    c = route.candidates(np.array([X0 + px]), np.array([Y0 + py]), 50.0)
    inside = (c.progress_m >= lo) & (c.progress_m <= lo + width)
    ms, ds = route.window_candidates(X0 + px, Y0 + py, lo, lo + width, 50.0)
    pairs = [(m, d) for m, d in zip(ms, ds, strict=True) if lo <= m <= lo + width]
    assert pairs == list(zip(c.progress_m[inside], c.offset_m[inside], strict=True))


def test_network_is_rebuilt_only_when_routes_change():
    routes = {"KP-01": line([(0, 0), (100, 0)]), "KP-02": line([(0, 0), (0, 100)])}
    net = RouteNetwork.build(routes)
    assert net.refreshed(dict(routes)) is net
    changed = net.refreshed({**routes, "KP-02": line([(0, 0), (0, 120)])})
    assert changed is not net and changed["KP-02"].length_m == pytest.approx(120.0, abs=0.01)
    assert "KP-01" in changed


def test_straight_runs_lose_their_inner_vertices_but_keep_measures_and_u_turns():
    xs = [(float(k), 0.0) for k in range(0, 501, 5)] + [(250.0, 0.3), (250.0, 300.0)]
    route = RouteGeometry.build("S", line(xs))
    assert len(route.x) == 4
    assert route.length_m == pytest.approx(500.0 + np.hypot(250.0, 0.3) + 299.7, abs=0.01)
    x, _ = route.xy_at([400.0, 600.0])
    assert x - X0 == pytest.approx([400.0, 400.0], abs=0.01)


def _zigzag(rng):
    """A random 40-vertex route wandering over ~2 km, crossing itself."""
    steps = rng.normal(0.0, 120.0, (40, 2))
    return RouteGeometry.build("ZZ", line(np.cumsum(steps, axis=0)))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), gate_m=st.sampled_from([30.0, 50.0, 120.0, 200.0, 900.0]))
def test_grid_candidates_are_those_of_every_segment(seed, gate_m):
    rng = np.random.default_rng(seed)
    route = _zigzag(rng)
    x = rng.uniform(route.x.min() - 300, route.x.max() + 300, 400)
    y = rng.uniform(route.y.min() - 300, route.y.max() + 300, 400)
    gate = np.where(rng.random(400) < 0.5, gate_m, 50.0)
    got = route.candidates(x, y, gate)
    for k in range(0, 400, 37):
        ms, ds = route.window_candidates(float(x[k]), float(y[k]), -1.0, 1e9, float(gate[k]))
        assert got.progress_m[got.fix == k].tolist() == ms
        assert got.offset_m[got.fix == k].tolist() == ds


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), spread_m=st.sampled_from([20.0, 300.0, 5000.0]))
def test_distance_of_many_points_equals_the_tree_query_bit_for_bit(seed, spread_m):
    rng = np.random.default_rng(seed)
    route = _zigzag(rng)
    k = rng.integers(0, len(route.x), 500)
    x, y = route.x[k] + rng.normal(0, spread_m, 500), route.y[k] + rng.normal(0, spread_m, 500)
    pts = shapely.points(x, y)
    _, want = route.tree.query_nearest(pts, return_distance=True, all_matches=False)
    assert route.distance_m(x, y).tolist() == want.tolist()
