"""Hostile clients against a real server process: the honest devices keep being served.

Oversized bodies are refused with 413, sockets that trickle a request a byte at a time
do not hold up anyone else, and one device flooding the server gets 429 while another
device's fixes still go in.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from serverproc import FleetServer, add_devices, sqlite_database

pytestmark = pytest.mark.slow

RATE_PER_S, BURST = 5, 20
LIMITS = {"FLEET_DEVICE_RATE": str(RATE_PER_S), "FLEET_DEVICE_BURST": str(BURST)}
TRUCKS = ("KP-01", "KP-02", "KP-03", "KP-04")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FleetServer, list[str]]]:
    folder = tmp_path_factory.mktemp("hostile")
    url = sqlite_database(folder / "fleet.sqlite3")
    devices = add_devices(url, TRUCKS)
    server = FleetServer(url, folder / "server.log", env=LIMITS).start()
    try:
        yield server, [devices[t] for t in TRUCKS]
    finally:
        server.terminate()


class FixClock:
    """Distinct fix times, one second apart, ending a minute ago."""

    def __init__(self) -> None:
        self._next = datetime.now(UTC) - timedelta(hours=2)
        self._lock = threading.Lock()

    def stamp(self) -> int:
        with self._lock:
            self._next += timedelta(seconds=1)
            return int(self._next.timestamp())


def osmand(session: requests.Session, base: str, device: str, clock: FixClock) -> int:
    params = {"id": device, "timestamp": clock.stamp(), "lat": -10.17, "lon": 123.6}
    return session.post(f"{base}/osmand", params=params, timeout=10).status_code


def test_oversized_bodies_get_413(served: tuple[FleetServer, list[str]]) -> None:
    server, devices = served
    body = b"[" + b'{"time":"2024-01-01T00:00:00Z","lat":-10.1,"lon":123.6},' * 60_000
    headers = {"Authorization": f"Bearer {devices[0]}", "Content-Type": "application/json"}
    batch = requests.post(f"{server.url}/api/v1/pings", data=body, headers=headers, timeout=30)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    single = requests.post(f"{server.url}/osmand", data=b"id=x&" * 600_000, headers=form)
    assert len(body) > 2 * 1024 * 1024
    assert (batch.status_code, single.status_code) == (413, 413)
    assert requests.get(f"{server.url}/api/v1/config", timeout=5).status_code == 200


def _trickle(port: int, stop: threading.Event) -> None:
    """Send a request's head one byte every 100 ms, never finishing it."""
    head = b"POST /osmand HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for i in range(10_000):
            if stop.wait(0.1):
                return
            try:
                sock.sendall(head[i % len(head) : i % len(head) + 1])
            except OSError:
                return


def test_slow_clients_do_not_hold_up_others(served: tuple[FleetServer, list[str]]) -> None:
    server, devices = served
    stop = threading.Event()
    trickles = [threading.Thread(target=_trickle, args=(server.port, stop)) for _ in range(50)]
    for thread in trickles:
        thread.start()
    clock, latencies = FixClock(), []
    try:
        time.sleep(1.0)
        with requests.Session() as session:
            for _ in range(15):
                began = time.monotonic()
                assert osmand(session, server.url, devices[1], clock) == 200
                latencies.append(time.monotonic() - began)
                time.sleep(0.1)
    finally:
        stop.set()
        for thread in trickles:
            thread.join(10)
    assert max(latencies) < 1.0, latencies


def test_flood_from_one_device_gets_429_and_others_still_get_200(
    served: tuple[FleetServer, list[str]],
) -> None:
    server, devices = served
    flooder, honest = devices[2], devices[3]
    clock = FixClock()

    retry_afters: list[str] = []

    def flood(_: int) -> list[int]:
        statuses = []
        with requests.Session() as session:
            for _ in range(40):
                params = {"id": flooder, "timestamp": clock.stamp(), "lat": -10.17, "lon": 123.6}
                answer = session.post(f"{server.url}/osmand", params=params, timeout=10)
                statuses.append(answer.status_code)
                if answer.status_code == 429:
                    retry_afters.append(answer.headers["Retry-After"])
        return statuses

    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        flooding = pool.map(flood, range(4))
        with requests.Session() as session:
            honest_answers = []
            for _ in range(10):
                honest_answers.append(osmand(session, server.url, honest, clock))
                time.sleep(0.05)
        flood_answers = [status for batch in flooding for status in batch]
    allowed = BURST + RATE_PER_S * (time.monotonic() - began) + 1
    assert set(flood_answers) <= {200, 429}
    assert 0 < flood_answers.count(200) <= allowed, flood_answers
    assert honest_answers == [200] * 10
    assert all(int(after) >= 1 for after in retry_afters)


def test_server_log_has_no_traceback(served: tuple[FleetServer, list[str]]) -> None:
    server, _ = served
    assert "Traceback" not in Path(server.log_path).read_text(errors="replace")
