"""`fleet snap` on files: a CSV or GPX trace in, the same rows with progress out."""

import csv

import geopandas as gpd
import numpy as np
import pytest
import shapely

from fleet.geo import to_lonlat, to_metric
from fleet.snap_files import snap_files

X0, Y0 = (float(v) for v in to_metric(123.6, -10.17))


@pytest.fixture
def routes_file(tmp_path):
    """Two routes: KP-01 east 800 m, KP-02 north 800 m, as GeoJSON in lon/lat."""
    lines = []
    for dx, dy in [(800.0, 0.0), (0.0, 800.0)]:
        lon, lat = to_lonlat([X0, X0 + dx], [Y0, Y0 + dy])
        lines.append(shapely.LineString(np.c_[lon, lat]))
    frame = gpd.GeoDataFrame({"route_id": ["KP-01", "KP-02"]}, geometry=lines, crs=4326)
    path = tmp_path / "routes.geojson"
    frame.to_file(path, driver="GeoJSON")
    return path


def fix_rows(dx_m, dy_m, offset=(0.0, 5.0)):
    lon, lat = to_lonlat(X0 + np.asarray(dx_m) + offset[0], Y0 + np.asarray(dy_m) + offset[1])
    return list(zip(lon.tolist(), lat.tolist(), strict=True))


def test_csv_rows_keep_their_order_and_gain_progress(routes_file, tmp_path):
    east = fix_rows(np.arange(0, 400, 40.0), np.zeros(10))
    north = fix_rows(np.zeros(10), np.arange(0, 400, 40.0), offset=(5.0, 0.0))
    traces = tmp_path / "traces.csv"
    with traces.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["truck_id", "route_id", "time", "lat", "lon", "speed_mps"])
        for k in range(10):  # interleaved trucks, as a device log would be
            w.writerow(["T1", "KP-01", f"2024-05-02T08:00:{k * 5:02d}+08:00", *east[k][::-1], 8])
            w.writerow(["T2", "KP-02", 1714608000 + k * 5, *north[k][::-1], ""])
    out = tmp_path / "out.csv"
    assert snap_files(routes_file, traces, out) == 20
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == [
        "truck_id", "route_id", "time", "lat", "lon", "speed_mps",
        "progress_m", "snap_lat", "snap_lon", "offset_m", "on_route",
    ]  # fmt: skip
    t1 = [float(r["progress_m"]) for r in rows if r["truck_id"] == "T1"]
    assert t1 == pytest.approx(list(np.arange(0, 400, 40.0)), abs=12.0)
    assert all(r["on_route"] == "True" for r in rows), [r["on_route"] for r in rows]
    assert float(rows[1]["offset_m"]) == pytest.approx(5.0, abs=0.5)


def test_gpx_track_is_snapped_to_the_route_named_by_the_track(routes_file, tmp_path):
    pts = fix_rows(np.zeros(8), np.arange(0, 320, 40.0))
    body = "".join(
        f'<trkpt lat="{lat}" lon="{lon}"><time>2024-05-02T00:00:{k * 5:02d}Z</time></trkpt>'
        for k, (lon, lat) in enumerate(pts)
    )
    gpx = tmp_path / "truck7.gpx"
    gpx.write_text(
        '<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><name>KP-02</name><trkseg>{body}</trkseg></trk></gpx>"
    )
    out = tmp_path / "out.csv"
    assert snap_files(routes_file, gpx, out) == 8
    rows = list(csv.DictReader(out.open()))
    assert rows[0]["truck_id"] == "truck7" and rows[0]["route_id"] == "KP-02"
    assert float(rows[-1]["progress_m"]) == pytest.approx(280.0, abs=12.0)


def test_unknown_route_rows_are_kept_without_results(routes_file, tmp_path):
    traces = tmp_path / "traces.csv"
    lon, lat = fix_rows([0.0], [0.0])[0]
    traces.write_text(f"truck_id,route_id,time,lat,lon\nT9,KP-99,0,{lat},{lon}\n")
    out = tmp_path / "out.csv"
    assert snap_files(routes_file, traces, out) == 0
    rows = list(csv.DictReader(out.open()))
    assert rows[0]["truck_id"] == "T9" and rows[0]["progress_m"] == ""
