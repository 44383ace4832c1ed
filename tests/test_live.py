"""Socket.IO (fleet/api/live.py, fleet/broadcast.py): state on join, batched broadcasts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError

from fleet.broadcast import Broadcaster, LivePosition
from fleet.extensions import socketio
from fleet.runtime import get_runtime


def _post_fix(client: FlaskClient, device: str, app: Flask, at_m: float, seconds_ago: int) -> None:
    reference = get_runtime(app).reference.get()
    lon, lat = reference.network()["KP-01"].lonlat_at([at_m])
    t = int(datetime.now(UTC).timestamp()) - seconds_ago
    query = f"id={device}&timestamp={t}&lat={lat[0]}&lon={lon[0]}&speed=8"
    assert client.get(f"/osmand?{query}").status_code == 200


def test_joining_client_gets_current_trucks_at_once(
    app: Flask, client: FlaskClient, device: str
) -> None:
    app.config["HIDE_OFF_SHIFT"] = False
    get_runtime(app).reference.invalidate()
    _post_fix(client, device, app, 1000.0, 5)
    live = socketio.test_client(app, namespace="/live")
    received = live.get_received("/live")
    assert received[0]["name"] == "positions"
    trucks = received[0]["args"][0]["trucks"]
    assert [t["id"] for t in trucks] == ["KP-01"]
    assert set(trucks[0]) == {
        "id",
        "route_id",
        "lat",
        "lon",
        "heading",
        "speed_kmh",
        "progress_m",
        "status",
        "fix_time",
    }


def test_broadcasts_are_batched_one_message_per_flush(
    app: Flask, client: FlaskClient, device: str
) -> None:
    app.config["HIDE_OFF_SHIFT"] = False
    get_runtime(app).reference.invalidate()
    live = socketio.test_client(app, namespace="/live")
    live.get_received("/live")
    for i in range(5):
        _post_fix(client, device, app, 1000.0 + 20 * i, 50 - 5 * i)
    assert live.get_received("/live") == []
    get_runtime(app).broadcaster.flush()
    messages = [m for m in live.get_received("/live") if m["name"] == "positions"]
    assert len(messages) == 1
    (truck,) = messages[0]["args"][0]["trucks"]
    assert truck["id"] == "KP-01" and truck["progress_m"] > 1000.0


def test_off_shift_trucks_are_not_public(app: Flask, client: FlaskClient, device: str) -> None:
    app.config["HIDE_OFF_SHIFT"] = True
    reference = get_runtime(app).reference
    reference.invalidate()
    route = reference.get().routes["KP-01"]
    _post_fix(client, device, app, 1000.0, 5)
    live = socketio.test_client(app, namespace="/live")
    trucks = live.get_received("/live")[0]["args"][0]["trucks"]
    on_shift = reference.get().on_shift("KP-01", datetime.now(UTC))
    assert ([t["id"] for t in trucks] == ["KP-01"]) == on_shift
    assert route.shift.days


def test_dispatch_namespace_refuses_anonymous(app: Flask) -> None:
    anonymous = socketio.test_client(app, namespace="/dispatch")
    assert not anonymous.is_connected("/dispatch")


def test_dispatch_namespace_accepts_signed_in(app: Flask, dispatcher: FlaskClient) -> None:
    signed_in = socketio.test_client(app, namespace="/dispatch", flask_test_client=dispatcher)
    assert signed_in.is_connected("/dispatch")


def test_dispatchers_get_coverage_rows_of_changed_routes(
    app: Flask, client: FlaskClient, device: str, dispatcher: FlaskClient
) -> None:
    watcher = socketio.test_client(app, namespace="/dispatch", flask_test_client=dispatcher)
    watcher.get_received("/dispatch")
    _post_fix(client, device, app, 1000.0, 5)
    get_runtime(app).broadcaster.flush()
    events = {m["name"]: m["args"][0] for m in watcher.get_received("/dispatch")}
    assert [r["route_id"] for r in events["coverage"]["routes"]] == ["KP-01"]
    assert "positions" in events


def test_flush_survives_a_database_away_while_building_coverage_rows() -> None:
    sent: list[tuple[str, str]] = []
    broadcaster = Broadcaster(
        lambda event, _data, namespace: sent.append((event, namespace)), truck_gap_s=0.0
    )

    def database_away(_routes: set[str]) -> list[dict[str, Any]]:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    broadcaster.coverage_rows = database_away
    position = LivePosition(
        "KP-01", "KP-01", -10.17, 123.6, 90.0, 5.0, 100.0, "on_route", datetime.now(UTC), True
    )
    for _ in range(2):  # the flusher calls flush again next interval: it must still work
        broadcaster.positions([position])
        broadcaster.coverage({"KP-01"})
        broadcaster.flush()
        assert ("positions", "/live") in sent and ("driven", "/live") in sent
        sent.clear()
