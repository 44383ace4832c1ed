"""Socket.IO against a real ``fleet serve`` with a real client (python-socketio, websocket).

The in-process test client (tests/test_live.py) skips the server, the websocket
upgrade and the flusher running on its own; here a viewer sees what a browser sees.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio
from serverproc import FleetServer, add_devices, sqlite_database

from fleet import create_app
from fleet.runtime import get_runtime

pytestmark = pytest.mark.slow

FLUSH_S = 0.2
ENV = {"FLEET_HIDE_OFF_SHIFT": "false", "FLEET_BROADCAST_INTERVAL_S": str(FLUSH_S)}


class Served:
    """The server, KP-01's device and points along KP-01's route (lon, lat)."""

    def __init__(self, server: FleetServer, device: str, points: list[tuple[float, float]]):
        self.server, self.device, self.points = server, device, points
        self._next_fix_s = int(time.time()) - 600

    def post_fix(self, point: int) -> str:
        """Post one fix for KP-01; returns the fix time as ``positions`` reports it."""
        self._next_fix_s += 1
        lon, lat = self.points[point]
        params = {"id": self.device, "timestamp": self._next_fix_s, "lat": lat, "lon": lon}
        answer = requests.post(f"{self.server.url}/osmand", params=params, timeout=10)
        assert answer.status_code == 200
        return datetime.fromtimestamp(self._next_fix_s, UTC).isoformat()


def _route_points(url: str) -> list[tuple[float, float]]:
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "t", "TESTING": True})
    lon, lat = get_runtime(app).reference.get().network()["KP-01"].lonlat_at([800.0, 900.0])
    get_runtime(app).db.engine.dispose()
    return list(zip(lon.tolist(), lat.tolist(), strict=True))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder: Path = tmp_path_factory.mktemp("live_server")
    url = sqlite_database(folder / "fleet.sqlite3")
    device = add_devices(url, ["KP-01"])["KP-01"]
    points = _route_points(url)
    with FleetServer(url, folder / "server.log", env=ENV) as server:
        yield Served(server, device, points)


@pytest.fixture
def viewer(served: Served) -> Iterator[queue.Queue[list[dict[str, Any]]]]:
    """A connected ``/live`` viewer; yields the trucks of each ``positions`` it gets."""
    received: queue.Queue[list[dict[str, Any]]] = queue.Queue()
    client = socketio.Client(reconnection=False)
    client.on("positions", lambda data: received.put(data["trucks"]), namespace="/live")
    client.connect(served.server.url, namespaces=["/live"], transports=["websocket"])
    try:
        yield received
    finally:
        client.disconnect()


def _wait_for(received: queue.Queue[list[dict[str, Any]]], fix_time: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        trucks = received.get(timeout=max(0.01, deadline - time.monotonic()))
        for truck in trucks:
            if truck["fix_time"] == fix_time:
                return truck
    raise AssertionError(f"no positions event with fix {fix_time}")


def test_posted_ping_reaches_a_viewer(
    served: Served, viewer: queue.Queue[list[dict[str, Any]]]
) -> None:
    viewer.get(timeout=10)
    fix_time = served.post_fix(0)
    truck = _wait_for(viewer, fix_time)
    assert truck["id"] == "KP-01" and truck["route_id"] == "KP-01"
    assert "device" not in str(truck) and served.device not in str(truck)


def test_joining_viewer_gets_current_state_at_once(served: Served) -> None:
    fix_time = served.post_fix(1)
    time.sleep(3 * FLUSH_S)
    received: queue.Queue[list[dict[str, Any]]] = queue.Queue()
    client = socketio.Client(reconnection=False)
    client.on("positions", lambda data: received.put(data["trucks"]), namespace="/live")
    began = time.monotonic()
    client.connect(served.server.url, namespaces=["/live"], transports=["websocket"])
    try:
        trucks = received.get(timeout=5)
    finally:
        client.disconnect()
    assert time.monotonic() - began < 5
    assert [(t["id"], t["fix_time"]) for t in trucks] == [("KP-01", fix_time)]


def test_dispatch_namespace_refuses_anonymous_viewer(served: Served) -> None:
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(served.server.url, namespaces=["/dispatch"], transports=["websocket"])
    assert not client.connected
