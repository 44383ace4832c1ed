"""The dispatcher side (fleet/api/dispatch.py, fleet/api/auth.py): login, table, alerts."""

from __future__ import annotations

from datetime import UTC, datetime

from conftest import login
from flask import Flask
from flask.testing import FlaskClient

from fleet.runtime import get_runtime
from fleet.store.alerts import raise_alert


def test_dashboard_requires_login(client: FlaskClient) -> None:
    page = client.get("/dispatch")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    api = client.get("/api/v1/dispatch/routes")
    assert api.status_code == 401
    assert api.get_json() == {"error": "login required"}


def test_wrong_password_is_refused(
    app: Flask, client: FlaskClient, dispatcher: FlaskClient
) -> None:
    response = login(client, "rina", "wrong-password")
    assert response.status_code == 401
    assert client.get("/api/v1/dispatch/routes").status_code == 401


def test_login_without_csrf_token_is_refused(client: FlaskClient, dispatcher: FlaskClient) -> None:
    response = client.post("/login", data={"username": "rina", "password": "sampah-bersih-1"})
    assert response.status_code in (400, 401)
    assert client.get("/api/v1/dispatch/routes").status_code == 401


def test_login_never_redirects_off_site(client: FlaskClient, dispatcher: FlaskClient) -> None:
    import re

    page = client.get("/login?next=https://evil.example/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token
    response = client.post(
        "/login",
        data={
            "username": "rina",
            "password": "sampah-bersih-1",
            "csrf_token": token.group(1),
            "next": "https://evil.example/",
        },
    )
    assert response.headers["Location"] == "/dispatch"


def test_route_table_lists_every_route(dispatcher: FlaskClient) -> None:
    rows = dispatcher.get("/api/v1/dispatch/routes").get_json()["routes"]
    assert len(rows) == 50
    row = rows[0]
    assert row["route_id"] == "KP-01" and row["device_status"] == "none"
    assert {"progress_pct", "bins_serviced", "bins_missed", "last_contact"} <= set(row)


def test_alert_can_be_acknowledged_with_csrf(app: Flask, dispatcher: FlaskClient) -> None:
    with get_runtime(app).db.write() as session:
        alert = raise_alert(session, "off_route", "KP-03 off route", "t1", datetime.now(UTC))
        assert alert is not None
        alert_id = alert.id
    listed = dispatcher.get("/api/v1/dispatch/alerts").get_json()["alerts"]
    assert [a["id"] for a in listed] == [alert_id] and not listed[0]["acknowledged"]
    refused = dispatcher.post(f"/api/v1/dispatch/alerts/{alert_id}/ack")
    assert refused.status_code == 400
    token = dispatcher.get("/api/v1/dispatch/session").get_json()["csrf_token"]
    done = dispatcher.post(
        f"/api/v1/dispatch/alerts/{alert_id}/ack", headers={"X-CSRFToken": token}
    )
    assert done.status_code == 200 and done.get_json()["acknowledged"] is True
    assert done.get_json()["acknowledged_by"] == "rina"


def test_same_alert_is_raised_once(app: Flask) -> None:
    with get_runtime(app).db.write() as session:
        now = datetime.now(UTC)
        assert raise_alert(session, "offline", "x", "dup", now) is not None
        assert raise_alert(session, "offline", "x", "dup", now) is None


def test_history_exports_each_format(dispatcher: FlaskClient) -> None:
    for fmt, kind in (("gpx", "gpx"), ("csv", "csv"), ("geojson", "geo+json")):
        response = dispatcher.get(f"/api/v1/dispatch/history/KP-01?format={fmt}")
        assert response.status_code == 200 and kind in response.mimetype
    assert dispatcher.get("/api/v1/dispatch/history/KP-01?format=pdf").status_code == 400
    assert (
        dispatcher.get("/api/v1/dispatch/history/KP-01?date=yesterday").get_json()["field"]
        == "date"
    )


def test_live_rows_of_changed_routes_are_the_full_tables_rows(
    app: Flask, client: FlaskClient, device: str
) -> None:
    """The coverage event carries the rows of the routes that changed, computed for those
    routes only: they are the whole table's rows, a serviced bin included."""
    from datetime import timedelta

    from fleet.api.dispatch import route_rows

    reference = get_runtime(app).reference.get()
    route = reference.routes["KP-01"]
    day = datetime.now(reference.tz).date() - timedelta(days=1)
    while not route.shift.runs_on(day):
        day -= timedelta(days=1)
    stop = min(
        (b for b in reference.bins.values() if b.route_id == "KP-01" and b.status == "installed"),
        key=lambda b: b.progress_m,
    )
    start, _ = route.shift.window(day, reference.tz)
    at = [stop.progress_m - 60 + 6 * k for k in range(10)] + [stop.progress_m] * 20
    lon, lat = reference.network()["KP-01"].lonlat_at(at)
    fixes = [
        {
            "time": (start + timedelta(seconds=2 * k)).isoformat(),
            "lat": float(lat[k]),
            "lon": float(lon[k]),
            "speed_mps": 3.0 if k < 10 else 0.0,
        }
        for k in range(len(at))
    ]
    auth = {"Authorization": f"Bearer {device}"}
    response = client.post("/api/v1/pings", json=fixes, headers=auth)
    assert response.status_code == 200
    with app.app_context():
        full = {r["route_id"]: r for r in route_rows(reference, day)}
        some = route_rows(reference, day, {"KP-01", "KP-02"})
    assert some == [full["KP-01"], full["KP-02"]]
    assert some[0]["bins_serviced"] == 1
