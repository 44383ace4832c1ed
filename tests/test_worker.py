"""The processing stage (fleet/worker.py): queued pings are snapped exactly once."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from fleet.models import PendingPing, Ping
from fleet.runtime import get_runtime


def _counts(app: Flask) -> tuple[int, int]:
    with get_runtime(app).db.read() as session:
        pending = session.scalar(select(func.count()).select_from(PendingPing)) or 0
        snapped = session.scalar(select(func.count()).where(Ping.route_id.is_not(None))) or 0
    return pending, snapped


def test_acknowledged_pings_wait_for_an_external_worker(
    app: Flask, client: FlaskClient, device: str
) -> None:
    runtime = get_runtime(app)
    runtime.worker.external = True
    lon, lat = runtime.reference.get().network()["KP-01"].lonlat_at([500.0])
    t = int(datetime.now(UTC).timestamp())
    for i in range(3):
        query = f"id={device}&timestamp={t - 30 + i}&lat={lat[0]}&lon={lon[0]}"
        assert client.get(f"/osmand?{query}").status_code == 200
    assert _counts(app) == (3, 0)
    assert runtime.worker.drain() == 3
    assert _counts(app) == (0, 3)
    assert runtime.worker.drain() == 0
