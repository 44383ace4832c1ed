"""The processing stage (fleet/worker.py): queued pings are snapped exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from fleet.fix import Fix
from fleet.models import PendingPing, Ping
from fleet.pipeline import Arrival, accept_many
from fleet.runtime import get_runtime
from fleet.store.devices import add_device, find_device


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


def test_a_backlog_of_many_trucks_is_processed_whole_in_one_drain(app: Flask) -> None:
    """More waiting pings than one round takes (SQLite writes about 25 per round):
    every truck's pings are snapped, none left queued."""
    runtime = get_runtime(app)
    trucks = [f"KP-{i:02d}" for i in range(1, 6)]
    with runtime.db.write() as session:
        refs = [find_device(session, add_device(session, truck)) for truck in trucks]
    start = datetime.now(UTC) - timedelta(hours=1)
    arrivals = []
    for ref in refs:
        assert ref is not None
        route = runtime.reference.get().network()[ref.truck_id]
        lons, lats = route.lonlat_at([500.0 + 5 * i for i in range(60)])
        fixes = [
            (i, Fix(start + timedelta(seconds=2 * i), lats[i], lons[i], speed_mps=2.5))
            for i in range(60)
        ]
        arrivals.append(Arrival(ref, fixes, datetime.now(UTC)))
    with runtime.db.write() as session:
        accept_many(session, arrivals)
    assert _counts(app) == (300, 0)
    assert runtime.worker.drain() == 300
    assert _counts(app) == (0, 300)
