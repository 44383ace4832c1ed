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
