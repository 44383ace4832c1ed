"""Coverage end to end (fleet/api/coverage.py): fixes in over HTTP, figures out.

A truck drives part of route KP-01 on a past day when the route was scheduled: it stops
at one bin, drives past another at speed, and never reaches the rest, whose shift is
over, so they are missed.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fleet.runtime import get_runtime

ROUTE = "KP-01"


def _past_run_day(app: Flask) -> date:
    route = get_runtime(app).reference.get().routes[ROUTE]
    day = datetime.now(get_runtime(app).reference.get().tz).date() - timedelta(days=1)
    while not route.shift.runs_on(day):
        day -= timedelta(days=1)
    return day


def _drive(app: Flask, start: datetime, legs: list[tuple[float, float, float]]) -> list[dict]:
    """Fixes every 2 s along the route: legs of (from_m, to_m, speed_mps); 0 speed = stop."""
    geometry = get_runtime(app).reference.get().network()[ROUTE]
    fixes, t, at = [], start, legs[0][0]
    for from_m, to_m, speed in legs:
        at = from_m
        steps = int(abs(to_m - from_m) / max(speed * 2, 1e-9)) if speed else int(to_m)
        for _ in range(max(steps, 1)):
            lon, lat = geometry.lonlat_at([at])
            fixes.append(
                {
                    "time": t.isoformat(),
                    "lat": float(lat[0]),
                    "lon": float(lon[0]),
                    "speed_mps": speed,
                }
            )
            t += timedelta(seconds=2)
            at = at + speed * 2 if speed else at
    return fixes


def _post(client: FlaskClient, device: str, fixes: list[dict]) -> None:
    for i in range(0, len(fixes), 1000):
        response = client.post(
            "/api/v1/pings", json=fixes[i : i + 1000], headers={"Authorization": f"Bearer {device}"}
        )
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["rejected"] == []


@pytest.fixture
def drive(app: Flask) -> dict:
    reference = get_runtime(app).reference.get()
    bins = sorted(
        (b for b in reference.bins.values() if b.route_id == ROUTE and b.status == "installed"),
        key=lambda b: b.progress_m,
    )
    stop_bin, pass_bin = bins[0], bins[1]
    day = _past_run_day(app)
    start, _ = reference.routes[ROUTE].shift.window(day, reference.tz)
    legs = [
        (stop_bin.progress_m - 150, stop_bin.progress_m, 6.0),
        (stop_bin.progress_m, 30, 0.0),
        (stop_bin.progress_m, pass_bin.progress_m + 150, 12.0),
    ]
    return {"day": day, "stop": stop_bin, "passed": pass_bin, "fixes": _drive(app, start, legs)}


def test_stop_serviced_pass_passed_rest_missed(
    app: Flask, client: FlaskClient, device: str, drive: dict
) -> None:
    _post(client, device, drive["fixes"])
    body = client.get(f"/api/v1/coverage?date={drive['day']}").get_json()
    route = next(r for r in body["routes"] if r["route_id"] == ROUTE)
    installed = sum(
        1
        for b in get_runtime(app).reference.get().bins.values()
        if b.route_id == ROUTE and b.status == "installed"
    )
    assert route["scheduled"] == installed
    assert route["serviced"] == 1
    assert route["missed"] == installed - 1
    assert route["pending"] == 0
    assert route["progress_km"] > 0
    export = client.get(f"/api/v1/coverage/export?date={drive['day']}&format=geojson").get_json()
    props = {f["properties"]["bin_id"]: f["properties"] for f in export["features"]}
    assert props[drive["stop"].bin_id]["state"] == "serviced"
    assert props[drive["passed"].bin_id]["state"] == "missed"
    assert props[drive["passed"].bin_id]["passed_not_stopped"] is True
    driven_past = [b for b, p in props.items() if p["passed_not_stopped"]]
    assert route["passed"] == len(driven_past) >= 1


def test_backlog_hours_late_corrects_the_figures_visibly(
    app: Flask, client: FlaskClient, device: str, drive: dict
) -> None:
    before = client.get(f"/api/v1/coverage?date={drive['day']}").get_json()
    route = next(r for r in before["routes"] if r["route_id"] == ROUTE)
    assert route["serviced"] == 0
    _post(client, device, drive["fixes"])
    after = client.get(f"/api/v1/coverage?date={drive['day']}").get_json()
    route = next(r for r in after["routes"] if r["route_id"] == ROUTE)
    assert route["serviced"] == 1
    assert route["late_corrections"] >= 1


def test_bins_map_shows_last_service(
    app: Flask, client: FlaskClient, device: str, drive: dict
) -> None:
    _post(client, device, drive["fixes"])
    features = client.get("/api/v1/bins").get_json()["features"]
    stop = next(f for f in features if f["properties"]["bin_id"] == drive["stop"].bin_id)
    assert stop["properties"]["last_serviced_at"] is not None
    assert stop["properties"]["service_class"] in ("yesterday", "older")


def test_exports_in_each_format(client: FlaskClient, device: str, drive: dict) -> None:
    _post(client, device, drive["fixes"])
    csv = client.get(f"/api/v1/coverage/export?date={drive['day']}&format=csv")
    assert csv.mimetype == "text/csv" and csv.data.startswith(b"bin_id,route_id")
    gpkg = client.get(f"/api/v1/coverage/export?date={drive['day']}&format=gpkg")
    assert gpkg.status_code == 200 and gpkg.data[:16] == b"SQLite format 3\x00"
    assert client.get("/api/v1/coverage/export?format=xls").get_json()["field"] == "format"


def test_driven_stretches_follow_the_truck(client: FlaskClient, device: str, drive: dict) -> None:
    _post(client, device, drive["fixes"])
    features = client.get(f"/api/v1/driven?date={drive['day']}").get_json()["features"]
    (route,) = [f for f in features if f["properties"]["route_id"] == ROUTE]
    assert route["geometry"]["type"] == "MultiLineString"
    span = drive["passed"].progress_m + 150 - (drive["stop"].progress_m - 150)
    assert route["properties"]["driven_m"] == pytest.approx(span, rel=0.15)


def test_eta_names_the_route_and_refuses_the_sea(app: Flask, client: FlaskClient) -> None:
    reference = get_runtime(app).reference.get()
    b = next(b for b in reference.bins.values() if b.route_id == ROUTE)
    body = client.get(f"/api/v1/eta?lat={b.lat}&lon={b.lon}").get_json()
    assert body["route_id"] is not None and body["distance_m"] < 30
    assert body["passed_today"] is False
    far = client.get("/api/v1/eta?lat=-10.0&lon=123.0")
    assert far.status_code == 404
    assert client.get("/api/v1/eta?lat=abc&lon=1").get_json()["field"] == "lat"


def test_eta_of_a_spot_ahead_of_a_truck_driving_now(
    app: Flask, client: FlaskClient, device: str
) -> None:
    reference = get_runtime(app).reference.get()
    ahead = max(
        (b for b in reference.bins.values() if b.route_id == ROUTE and b.status == "installed"),
        key=lambda b: b.progress_m,
    )
    start = datetime.now(reference.tz).replace(microsecond=0) - timedelta(minutes=4)
    _post(client, device, _drive(app, start, [(100.0, 100.0 + 8.0 * 200, 8.0)]))
    body = client.get(f"/api/v1/eta?lat={ahead.lat}&lon={ahead.lon}").get_json()
    assert body["route_id"] == ROUTE and body["passed_today"] is False
    assert body["eta_minutes"] is not None and body["eta_minutes"] > 0


def test_disposal_trips_count_processing_and_landfill(
    app: Flask, client: FlaskClient, device: str
) -> None:
    from shapely import wkt

    reference = get_runtime(app).reference.get()
    day = _past_run_day(app)
    t = reference.routes[ROUTE].shift.window(day, reference.tz)[0]
    fixes = []
    for kind in ("processing", "landfill"):
        site = next(s for s in reference.sites.values() if s.kind == kind)
        centre = wkt.loads(site.wkt).centroid
        for _ in range(40):
            fixes.append({"time": t.isoformat(), "lat": centre.y, "lon": centre.x, "speed_mps": 0})
            t += timedelta(seconds=5)
        fixes.append({"time": t.isoformat(), "lat": centre.y + 0.01, "lon": centre.x})
        t += timedelta(minutes=20)
    _post(client, device, fixes)
    trips = client.get(f"/api/v1/coverage?date={day}").get_json()["trips"]
    assert trips["total"] == 2 and trips["landfill"] == 1
    assert trips["landfill_pct"] == 50.0 and trips["target_landfill_pct"] == 15.0


def test_recomputing_a_day_gives_the_same_figures(
    app: Flask, client: FlaskClient, device: str, drive: dict
) -> None:
    from fleet.recompute import recompute_day

    _post(client, device, drive["fixes"])
    live = client.get(f"/api/v1/coverage?date={drive['day']}").get_json()
    runtime = get_runtime(app)
    with runtime.db.write() as session:
        counts = recompute_day(session, runtime.reference.get(), drive["day"])
    again = client.get(f"/api/v1/coverage?date={drive['day']}").get_json()
    assert counts["serviced"] == live["city"]["serviced"]
    assert again["city"] == live["city"]
