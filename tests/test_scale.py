"""Several ``fleet serve`` processes on one PostgreSQL + PostGIS and one Redis queue.

The topology of ``docker-compose.yml`` without Docker: real processes on loopback
ports stand in for the app replicas behind nginx. A viewer may be pinned to any
process and a device's requests may reach any process; the promises are that every
viewer sees every truck, that one truck's pings arriving on two processes at once are
all stored with no lost update to its matching state, and that coverage comes out as a
single process computes it from the same input.

Each run has its own databases (``fleet_scale_<pid>``) and Socket.IO channel, so runs
of other engineers on the same PostgreSQL and Redis never cross this one.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio
from serverproc import PG_ADMIN_URL, FleetServer, add_devices, postgres_database
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from fleet.simrun import load_reference
from fleet.simulator import SimFix, simulate_truck

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/0"
ENV = {
    "FLEET_DEVICE_RATE": "100000",
    "FLEET_DEVICE_BURST": "100000",
    "FLEET_HIDE_OFF_SHIFT": "false",
    "FLEET_BROADCAST_INTERVAL_S": "0.2",
}


def _redis_up() -> bool:
    try:
        ping = subprocess.run(["redis-cli", "-h", "127.0.0.1", "ping"], capture_output=True)
    except OSError:
        return False
    return ping.stdout.strip() == b"PONG"


@pytest.fixture(scope="module")
def queue_env() -> dict[str, str]:
    """Redis as the queue, on a channel no other run uses."""
    if not _redis_up():
        if os.environ.get("CI"):
            pytest.fail("Redis is not running on 127.0.0.1:6379")
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    channel = f"fleet-scale-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    return {**ENV, "FLEET_MESSAGE_QUEUE": REDIS_URL, "FLEET_MESSAGE_CHANNEL": channel}


def _own_database(suffix: str) -> Iterator[str]:
    name = f"fleet_scale_{suffix}_{os.getpid()}"
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable: {str(exc).splitlines()[0]}")
    yield postgres_database(name)
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    engine.dispose()


@pytest.fixture(scope="module")
def cluster_db() -> Iterator[str]:
    yield from _own_database("cluster")


@pytest.fixture(scope="module")
def single_db() -> Iterator[str]:
    yield from _own_database("single")


@pytest.fixture(scope="module")
def cluster(
    cluster_db: str, queue_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[FleetServer]]:
    """Two server processes on one database and one queue channel."""
    logs = tmp_path_factory.mktemp("cluster")
    servers = [FleetServer(cluster_db, logs / f"server{i}.log", env=queue_env) for i in (0, 1)]
    try:
        yield [server.start() for server in servers]
    finally:
        for server in servers:
            server.terminate()


class Viewer:
    """A public map's Socket.IO connection: which fix of which truck it has been shown."""

    def __init__(self, base_url: str) -> None:
        self.seen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self.client = socketio.Client(reconnection=False)
        self.client.on("positions", self._on_positions, namespace="/live")
        self.client.connect(base_url, namespaces=["/live"], wait_timeout=10)

    def _on_positions(self, data: dict[str, Any]) -> None:
        with self._lock:
            self.seen |= {(t["id"], t["fix_time"]) for t in data["trucks"]}

    def has(self, wanted: set[tuple[str, str]]) -> bool:
        with self._lock:
            return wanted <= self.seen


def test_every_viewer_sees_every_truck_whichever_process_took_the_ping(
    cluster: list[FleetServer], cluster_db: str
) -> None:
    first, second = cluster
    ids = add_devices(cluster_db, ["KP-01", "KP-02"])
    viewers = [Viewer(first.url), Viewer(second.url)]
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        one = {"time": (now - timedelta(seconds=9)).isoformat(), "lat": -10.17, "lon": 123.6}
        two = {"time": (now - timedelta(seconds=8)).isoformat(), "lat": -10.16, "lon": 123.61}
        assert _post(first.url, ids["KP-01"], [one]) == 200
        assert _post(second.url, ids["KP-02"], [two]) == 200
        wanted = {("KP-01", one["time"]), ("KP-02", two["time"])}
        for viewer in viewers:
            assert _wait(lambda v=viewer: v.has(wanted), 10), (viewer.seen, first.log_tail())
    finally:
        for viewer in viewers:
            viewer.client.disconnect()


def test_one_truck_on_two_processes_at_once_loses_no_update(
    cluster: list[FleetServer], cluster_db: str
) -> None:
    fixes = _trace("KP-03", date.today() - timedelta(days=1), count=240)
    device = add_devices(cluster_db, ["KP-03"])["KP-03"]
    statuses: list[int] = []
    lanes = [
        threading.Thread(target=_send, args=(server.url, device, fixes[i::2], 1, statuses))
        for i, server in enumerate(cluster)
    ]
    for lane in lanes:
        lane.start()
    for lane in lanes:
        lane.join(120)
    assert set(statuses) == {200} and len(statuses) == len(fixes)
    _settle(cluster_db)
    stored = _rows(cluster_db, "SELECT count(*), count(DISTINCT fix_time) FROM pings p"
                   " JOIN devices d ON d.id = p.device_id WHERE d.truck_id = 'KP-03'")  # fmt: skip
    assert stored == [(len(fixes), len(fixes))]
    newest = fixes[-1]
    state = _rows(cluster_db, "SELECT fix_time, lat, lon, matcher IS NOT NULL FROM truck_state"
                  " WHERE truck_id = 'KP-03'")  # fmt: skip
    assert state == [(newest.t, newest.lat, newest.lon, True)]


def test_coverage_on_two_processes_equals_one_process(
    cluster: list[FleetServer],
    cluster_db: str,
    single_db: str,
    queue_env: dict[str, str],
    tmp_path: Path,
) -> None:
    trucks = ("KP-04", "KP-05", "KP-06")
    day = date.today() - timedelta(days=2)
    traces = {truck: _trace(truck, day, count=720) for truck in trucks}
    single = FleetServer(single_db, tmp_path / "single.log", env=queue_env).start()
    try:
        for servers, db in ((cluster, cluster_db), ([single], single_db)):
            ids = add_devices(db, trucks)
            _drive(servers, ids, traces, batch=30)
            _settle(db)
        report_two = requests.get(f"{cluster[1].url}/api/v1/coverage?date={day}", timeout=30)
        report_one = requests.get(f"{single.url}/api/v1/coverage?date={day}", timeout=30)
    finally:
        single.terminate()
    assert report_two.status_code == report_one.status_code == 200
    assert report_two.json() == report_one.json()
    assert report_one.json()["city"]["serviced"] > 0
    for query in COMPARED:
        assert _rows(cluster_db, query) == _rows(single_db, query), query


SAME_TRUCKS = "truck_id IN ('KP-04', 'KP-05', 'KP-06')"
COMPARED = (
    "SELECT truck_id, fix_time, route_id, progress_m, offset_m, on_route FROM pings"
    f" WHERE {SAME_TRUCKS} ORDER BY 1, 2",
    "SELECT bin_id, truck_id, route_id, service_date, first_time, last_time, closest_m,"
    f" dwell_s, status FROM bin_visits WHERE {SAME_TRUCKS} ORDER BY 1, 2, 4",
    "SELECT route_id, truck_id, service_date, driven::text, driven_m FROM route_days"
    f" WHERE {SAME_TRUCKS} ORDER BY 1, 2, 3",
    "SELECT truck_id, route_id, fix_time, progress_m, on_route, matcher::text"
    f" FROM truck_state WHERE {SAME_TRUCKS} ORDER BY 1",
    f"SELECT truck_id, site_id, kind, entered_at, left_at FROM site_visits WHERE {SAME_TRUCKS}"
    " ORDER BY 1, 4",
)


def _trace(truck: str, day: date, count: int) -> list[SimFix]:
    routes, bins, sites = load_reference(ROOT / "routes_data")
    [route] = [r for r in routes if r.truck_id == truck]
    return list(simulate_truck(route, bins, sites, day=day, seed=11))[:count]


def _drive(
    servers: Sequence[FleetServer],
    ids: dict[str, str],
    traces: dict[str, list[SimFix]],
    batch: int,
) -> None:
    """Each truck on its own thread, its batches in order, each batch to the next process."""
    statuses: list[int] = []

    def truck_lane(truck: str) -> None:
        fixes = traces[truck]
        with requests.Session() as session:
            for n, start in enumerate(range(0, len(fixes), batch)):
                chunk = fixes[start : start + batch]
                server = servers[n % len(servers)]
                statuses.append(_post(server.url, ids[truck], chunk, session))

    lanes = [threading.Thread(target=truck_lane, args=(t,)) for t in traces]
    for lane in lanes:
        lane.start()
    for lane in lanes:
        lane.join(120)
    assert set(statuses) == {200}, [statuses, *(s.log_tail() for s in servers)]


def _send(url: str, device: str, fixes: list[SimFix], batch: int, statuses: list[int]) -> None:
    with requests.Session() as session:
        for start in range(0, len(fixes), batch):
            statuses.append(_post(url, device, fixes[start : start + batch], session))


def _post(
    url: str,
    device: str,
    fixes: Sequence[SimFix | dict[str, Any]],
    session: requests.Session | None = None,
) -> int:
    body = [f if isinstance(f, dict) else _item(f) for f in fixes]
    response = (session or requests).post(
        f"{url}/api/v1/pings", json=body, headers={"Authorization": f"Bearer {device}"}, timeout=30
    )
    return response.status_code


def _item(fix: SimFix) -> dict[str, Any]:
    return {
        "time": fix.t.isoformat(),
        "lat": fix.lat,
        "lon": fix.lon,
        "speed_mps": fix.speed_mps,
        "heading_deg": fix.heading_deg,
        "accuracy_m": fix.accuracy_m,
        "battery_pct": fix.battery_pct,
    }


def _rows(url: str, query: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(query))]
    finally:
        engine.dispose()


def _settle(url: str, timeout_s: float = 60.0) -> None:
    """Wait until no acknowledged ping still awaits snapping, where a queue holds them."""
    if _rows(url, "SELECT to_regclass('pending_pings') IS NULL") == [(True,)]:
        return
    assert _wait(lambda: _rows(url, "SELECT count(*) FROM pending_pings") == [(0,)], timeout_s)


def _wait(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()
