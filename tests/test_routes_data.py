"""Invariants of the shipped Kupang reference layers in routes_data/."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.ops import substring

DATA = Path(__file__).resolve().parents[1] / "routes_data"
LAYERS = ("kecamatan", "kelurahan", "streets", "routes", "bins", "sites")
KECAMATAN = {"Alak", "Kelapa Lima", "Kota Lama", "Kota Raja", "Maulafa", "Oebobo"}
UTM = "EPSG:32751"


@pytest.fixture(scope="module")
def layers() -> dict[str, gpd.GeoDataFrame]:
    return {name: gpd.read_file(DATA / f"{name}.geojson") for name in LAYERS}


@pytest.fixture(scope="module")
def routes_utm(layers) -> gpd.GeoDataFrame:
    return layers["routes"].to_crs(UTM).set_index("route_id")


def _collection(route) -> shapely.LineString:
    return substring(route.geometry, route.collection_start_m, route.collection_end_m)


def test_fifty_routes_one_per_truck(layers):
    routes = layers["routes"]
    assert list(routes["route_id"]) == [f"KP-{i:02d}" for i in range(1, 51)]
    assert list(routes["truck_id"]) == list(routes["route_id"])
    assert routes["color"].nunique() == 50
    assert routes["name"].nunique() == 50


def test_bins_count_and_status(layers):
    bins = layers["bins"]
    assert list(bins["bin_id"]) == [f"BIN-{i:04d}" for i in range(1, 1348)]
    assert Counter(bins["status"]) == {"installed": 900, "planned": 447}


def test_six_kecamatan_list_their_kelurahan(layers):
    kec, kel = layers["kecamatan"], layers["kelurahan"]
    assert set(kec["name"]) == KECAMATAN
    assert len(kel) == 51 and kel["kode"].is_unique
    for row in kec.itertuples():
        assert sorted(row.kelurahan) == sorted(kel.loc[kel["kecamatan"] == row.name, "name"])
    assert abs(kec["population"].sum() - 442_758) < 5_000
    assert kec.is_valid.all() and kel.is_valid.all()


def test_every_bin_within_15_m_of_its_collection_pass(layers, routes_utm):
    bins = layers["bins"].to_crs(UTM)
    for route_id, group in bins.groupby("route_id"):
        route = routes_utm.loc[route_id]
        assert group["progress_m"].between(route.collection_start_m, route.collection_end_m).all()
        assert (shapely.distance(group.geometry.values, _collection(route)) <= 15.0).all()
        at_progress = shapely.line_interpolate_point(route.geometry, group["progress_m"].values)
        assert (shapely.distance(group.geometry.values, at_progress) <= 15.0).all()


def test_bins_are_spaced_along_their_route(layers):
    bins = layers["bins"].to_crs(UTM)
    for _, group in bins.groupby("route_id"):
        xy = shapely.get_coordinates(group.geometry.values)
        gaps = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
        np.fill_diagonal(gaps, np.inf)
        assert gaps.min() >= 29.0


def test_routes_drive_only_along_street_edges(layers):
    ends = shapely.get_coordinates(layers["streets"].geometry.boundary.values).reshape(-1, 4)
    edges = {tuple(e) for e in ends} | {(c, d, a, b) for a, b, c, d in ends}
    for route in layers["routes"].itertuples():
        xy = shapely.get_coordinates(route.geometry)
        pairs = np.hstack([xy[:-1], xy[1:]])
        assert all(tuple(p) in edges for p in pairs), route.route_id


def test_route_measures_match_geometry(routes_utm):
    for route in routes_utm.itertuples():
        assert abs(route.geometry.length - route.length_m) < 1.0
        assert 10_000 <= route.collection_m <= 25_000
        assert route.collection_m == pytest.approx(
            route.collection_end_m - route.collection_start_m, abs=0.2
        )


def test_collection_stays_inside_its_kecamatan(layers, routes_utm):
    polygons = layers["kecamatan"].to_crs(UTM).set_index("name").geometry
    for route in routes_utm.itertuples():
        assert polygons[route.kecamatan].buffer(2.0).covers(_collection(route)), route.Index


def test_routes_of_a_kecamatan_sweep_different_streets(routes_utm):
    for _, group in routes_utm.groupby("kecamatan"):
        areas = [_collection(r).buffer(1.0) for r in group.itertuples()]
        for i, a in enumerate(areas):
            for b in areas[i + 1 :]:
                assert a.intersection(b).area < 0.05 * min(a.area, b.area)


def test_routes_start_and_end_at_the_depot(layers):
    sites = layers["sites"]
    depot = sites.loc[sites["kind"] == "depot"].geometry.iloc[0]
    for route in layers["routes"].itertuples():
        first, last = shapely.get_coordinates(route.geometry)[[0, -1]]
        assert depot.covers(shapely.Point(first)) and depot.covers(shapely.Point(last))


def test_geofences_for_depot_tps3r_and_landfill(layers):
    sites = layers["sites"]
    assert Counter(sites["kind"]) == {"depot": 1, "processing": 6, "landfill": 1}
    assert set(sites.loc[sites["kind"] == "processing", "kecamatan"]) == KECAMATAN
    landfill = sites.loc[sites["kind"] == "landfill"].iloc[0]
    assert (landfill["name"], landfill["kecamatan"]) == ("TPA Alak", "Alak")
    depot = sites.loc[sites["kind"] == "depot"].iloc[0]
    assert landfill.geometry.centroid.x < depot.geometry.centroid.x
    fences = sites.to_crs(UTM).geometry
    for fence in fences:
        corners = np.asarray(fence.minimum_rotated_rectangle.exterior.coords)
        sides_m = np.hypot(*np.diff(corners, axis=0).T)
        assert 60 <= sides_m.min() and sides_m.max() <= 200
    streets = shapely.union_all(layers["streets"].to_crs(UTM).geometry.values)
    assert fences.intersects(streets).all()


def test_route_and_bin_shares_follow_population(layers):
    kec = layers["kecamatan"].set_index("name")
    share = kec["population"] / kec["population"].sum()
    bins = layers["bins"]["kecamatan"].value_counts() / 1347
    routes = layers["routes"]["kecamatan"].value_counts()
    for name in KECAMATAN:
        assert abs(bins[name] - share[name]) < 0.01
        assert abs(routes[name] - 50 * share[name]) <= 1


def test_schedules_cover_the_week(layers):
    routes = layers["routes"]
    days = [list(d) for d in routes["schedule_days"]]
    assert set().union(*days) == {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
    assert sum(3 <= len(d) <= 6 for d in days) >= 40


def test_streets_are_synthetic_named_and_connected(layers):
    streets = layers["streets"]
    assert streets["synthetic"].all() and streets["street_id"].is_unique
    assert streets["name"].str.startswith("Jl. ").all()
    assert set(streets["road_class"]) == {"primary", "secondary", "residential"}
    ends = shapely.get_coordinates(streets.geometry.boundary.values).reshape(-1, 2, 2)
    _, node = np.unique(ends.reshape(-1, 2), axis=0, return_inverse=True)
    parent = list(range(node.max() + 1))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for u, v in node.reshape(-1, 2).tolist():
        parent[root(u)] = root(v)
    assert len({root(i) for i in range(len(parent))}) == 1


def test_build_is_deterministic(tmp_path):
    script = DATA / "build.py"
    subprocess.run(
        [sys.executable, str(script), "--seed", "5371", "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for name in LAYERS:
        shipped = (DATA / f"{name}.geojson").read_bytes()
        assert (tmp_path / f"{name}.geojson").read_bytes() == shipped, name
