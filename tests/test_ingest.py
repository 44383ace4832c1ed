"""Ingestion over HTTP (fleet/api/ingest.py): OsmAnd and the batch API, end to end."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from fleet.models import Device, Ping, TruckState
from fleet.ratelimit import RateLimiter
from fleet.runtime import get_runtime


def _ping_count(app: Flask) -> int:
    with get_runtime(app).db.read() as session:
        return session.scalar(select(func.count()).select_from(Ping)) or 0


def _route_point(app: Flask, truck: str = "KP-01", at_m: float = 2000.0) -> tuple[float, float]:
    reference = get_runtime(app).reference.get()
    route = reference.route_for_truck(truck)
    assert route is not None
    lon, lat = reference.network()[route.route_id].lonlat_at([at_m])
    return float(lon[0]), float(lat[0])


def test_osmand_query_post_is_stored_with_knots_converted(
    app: Flask, client: FlaskClient, device: str
) -> None:
    lon, lat = _route_point(app)
    t = int(datetime.now(UTC).timestamp()) - 10
    query = f"id={device}&timestamp={t}&lat={lat}&lon={lon}&speed=10&bearing=90&batt=80"
    response = client.post(f"/osmand?{query}")
    assert response.status_code == 200
    assert response.data == b""
    with get_runtime(app).db.read() as session:
        ping = session.scalars(select(Ping)).one()
    assert ping.fix_time == datetime.fromtimestamp(t, UTC)
    assert abs(ping.speed_mps - 10 * 1852 / 3600) < 1e-9
    assert ping.route_id is not None and ping.progress_m is not None
    assert ping.on_route is True


def test_unknown_device_is_refused_and_nothing_stored(app: Flask, client: FlaskClient) -> None:
    response = client.get("/osmand?id=nope&lat=-10.17&lon=123.6")
    assert response.status_code == 400
    assert response.get_json()["field"] == "id"
    json_mode = client.post(
        "/osmand",
        data=json.dumps({"device_id": "nope", "location": {"coords": {"latitude": 1}}}),
        content_type="application/json",
    )
    assert json_mode.status_code in (400, 404)
    assert _ping_count(app) == 0


def test_heartbeat_updates_contact_and_stores_no_position(
    app: Flask, client: FlaskClient, device: str
) -> None:
    assert client.get(f"/osmand?id={device}").status_code == 200
    assert _ping_count(app) == 0
    with get_runtime(app).db.read() as session:
        dev = session.scalars(select(Device)).one()
    assert dev.last_contact_at is not None and dev.last_fix_at is None


def test_malformed_field_is_named_and_not_stored(
    app: Flask, client: FlaskClient, device: str
) -> None:
    response = client.get(f"/osmand?id={device}&lat=91&lon=123.6")
    assert response.status_code == 400
    assert response.get_json()["field"] == "lat"
    assert _ping_count(app) == 0


def _batch(client: FlaskClient, device: str, fixes: list[dict[str, object]]) -> dict[str, object]:
    response = client.post(
        "/api/v1/pings", json=fixes, headers={"Authorization": f"Bearer {device}"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    result: dict[str, object] = response.get_json()
    return result


def test_batch_reports_stored_duplicates_and_rejected(
    app: Flask, client: FlaskClient, device: str
) -> None:
    lon, lat = _route_point(app)
    start = datetime.now(UTC) - timedelta(minutes=10)
    fixes = [
        {"time": (start + timedelta(seconds=5 * i)).isoformat(), "lat": lat, "lon": lon}
        for i in range(5)
    ]
    fixes.append({"time": start.isoformat(), "lat": 123, "lon": lon})
    first = _batch(client, device, fixes)
    assert first["stored"] == 5
    assert first["duplicates"] == 0
    assert first["rejected"] == [
        {"index": 5, "field": "lat", "error": first["rejected"][0]["error"]}
    ]  # type: ignore[index]
    again = _batch(client, device, fixes[:5])
    assert again["stored"] == 0 and again["duplicates"] == 5
    assert _ping_count(app) == 5


def test_batch_needs_a_known_device(app: Flask, client: FlaskClient) -> None:
    response = client.post("/api/v1/pings", json=[], headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.get_json()["field"] == "Authorization"


def test_live_position_is_newest_fix_never_a_late_one(
    app: Flask, client: FlaskClient, device: str
) -> None:
    lon, lat = _route_point(app)
    now = datetime.now(UTC)
    newest = {"time": (now - timedelta(seconds=5)).isoformat(), "lat": lat, "lon": lon}
    _batch(client, device, [newest])
    late = {"time": (now - timedelta(hours=2)).isoformat(), "lat": lat + 0.001, "lon": lon}
    assert _batch(client, device, [late])["stored"] == 1
    with get_runtime(app).db.read() as session:
        state = session.get(TruckState, "KP-01")
    assert state is not None and state.lat == lat
    assert state.fix_time == datetime.fromisoformat(newest["time"])


def test_public_trucks_carry_no_device_identifier(
    app: Flask, client: FlaskClient, device: str
) -> None:
    app.config["HIDE_OFF_SHIFT"] = False
    get_runtime(app).reference.invalidate()
    lon, lat = _route_point(app)
    client.get(f"/osmand?id={device}&lat={lat}&lon={lon}")
    body = client.get("/api/v1/trucks").get_data(as_text=True)
    assert "KP-01" in body
    assert device not in body


def test_oversized_body_gets_413(app: Flask, client: FlaskClient, device: str) -> None:
    big = b"[" + b" " * (app.config["MAX_CONTENT_LENGTH"] + 10) + b"]"
    response = client.post(
        "/api/v1/pings",
        data=big,
        content_type="application/json",
        headers={"Authorization": f"Bearer {device}"},
    )
    assert response.status_code == 413
    assert _ping_count(app) == 0


def test_oversized_osmand_body_gets_413_declared_or_not(
    app: Flask, client: FlaskClient, device: str
) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    form = f"id={device}&lat=-10.17&lon=123.6&pad=".encode() + b"x" * limit
    declared = client.post("/osmand", data=form, content_type="application/x-www-form-urlencoded")
    chunked = client.post(
        "/osmand",
        input_stream=io.BytesIO(form),
        content_type="application/x-www-form-urlencoded",
        headers={"Transfer-Encoding": "chunked"},
    )
    assert (declared.status_code, chunked.status_code) == (413, 413)
    assert declared.get_json()["error"].startswith("request body larger than")
    assert _ping_count(app) == 0


def test_osmand_refuses_other_methods_with_a_json_error(client: FlaskClient, device: str) -> None:
    response = client.delete(f"/osmand?id={device}&lat=-10.17&lon=123.6")
    assert response.status_code == 405
    assert response.get_json() == {"error": "method not allowed"}
    assert {"GET", "POST", "PUT", "HEAD"} <= set(response.headers["Allow"].split(", "))


def test_osmand_options_lists_the_methods(client: FlaskClient) -> None:
    response = client.options("/osmand")
    assert response.status_code == 200
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST", "PUT"}


def test_osmand_body_shorter_than_declared_is_refused_and_not_stored(
    app: Flask, client: FlaskClient, device: str
) -> None:
    form = f"id={device}&lat=-10.17&lon=123.6".encode()
    response = client.post(
        "/osmand",
        data=form,
        content_type="application/x-www-form-urlencoded",
        environ_overrides={"CONTENT_LENGTH": str(len(form) + 40)},
    )
    assert response.status_code == 400 and response.get_json()["field"] == "body"
    assert _ping_count(app) == 0


def test_osmand_head_is_answered_without_a_body(client: FlaskClient) -> None:
    response = client.head("/osmand?lat=-10.17&lon=123.6")
    assert response.status_code == 400 and response.data == b""


def test_flooding_device_gets_429_and_others_do_not(
    app: Flask, client: FlaskClient, device: str
) -> None:
    from fleet.store.devices import add_device

    with get_runtime(app).db.write() as session:
        other = add_device(session, "KP-02")
    get_runtime(app).limiter = RateLimiter(rate_per_s=1.0, burst=10)
    codes = [client.get(f"/osmand?id={device}").status_code for _ in range(15)]
    assert codes[:10] == [200] * 10
    assert codes.count(429) >= 4
    refused = client.get(f"/osmand?id={device}")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert client.get(f"/osmand?id={other}").status_code == 200


def test_guessing_device_identifiers_is_throttled(
    app: Flask, client: FlaskClient, device: str
) -> None:
    get_runtime(app).limiter = RateLimiter(rate_per_s=1.0, burst=5)
    codes = [client.get(f"/osmand?id=guess{i}&lat=-10.17&lon=123.6").status_code for i in range(8)]
    assert codes[:5] == [400] * 5 and set(codes[5:]) == {429}
    batch = client.post("/api/v1/pings", json=[], headers={"Authorization": "Bearer guess"})
    assert batch.status_code == 429 and int(batch.headers["Retry-After"]) >= 1
