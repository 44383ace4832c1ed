"""Faults a real server survives without losing a fix it acknowledged.

Each test runs ``fleet serve`` as a subprocess (``serverproc``) and drives it with the
simulated phones of ``fleet.devices``, which buffer, back off and retry as Traccar
Client does. The promise under test: a 200 means the fix is in the database, and a
device that keeps retrying gets every fix in exactly once, whatever broke meanwhile.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests
import socketio
from serverproc import (
    FleetServer,
    add_devices,
    count_pings,
    fix_times,
    postgres_database,
    sqlite_database,
    wait_until,
)

from fleet._device_wire import Protocol, WireRequest, encode
from fleet.devices import RetryPolicy, SimDevice
from fleet.simrun import load_reference
from fleet.simulator import SimFix, simulate_truck

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
ON_CI = bool(os.environ.get("CI"))
FAULT_DB = "fleet_faults"
PROTOCOLS = ("osmand-query", "osmand-form", "osmand-json", "generic-get", "batch", "batch")
PATIENT = RetryPolicy(base_s=0.1, max_s=1.0, attempts=90, timeout_s=5.0, jitter=0.25)
NO_LIMIT = {"FLEET_DEVICE_RATE": "100000", "FLEET_DEVICE_BURST": "100000"}


class AuditedDevice(SimDevice):
    """A phone that also remembers which of its fixes the server acknowledged."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.acked: list[SimFix] = []
        self.answers: list[tuple[int, Mapping[str, str]] | None] = []
        self._acked_lock = threading.Lock()

    def _deliver(self, chunk: list[SimFix]) -> bool:
        dropped = self.stats.dropped
        delivered = super()._deliver(chunk)
        if delivered and self.stats.dropped == dropped:
            with self._acked_lock:
                self.acked.extend(chunk)
        return delivered

    def _send(self, request: WireRequest, count: int) -> requests.Response | None:
        response = super()._send(request, count)
        answer = None if response is None else (response.status_code, response.headers)
        with self._acked_lock:
            self.answers.append(answer)
        return response

    def acked_times(self) -> set[str]:
        with self._acked_lock:
            return {_iso(f) for f in self.acked}


class Fleet:
    """A few phones, each on its own thread, sending their fixes paced and in order."""

    def __init__(
        self,
        base_url: str,
        ids: dict[str, str],
        fixes: dict[str, list[SimFix]],
        protocols: Sequence[str] = PROTOCOLS,
    ) -> None:
        self.fixes = fixes
        self.devices = {
            truck: AuditedDevice(base_url, ids[truck], protocols[i % len(protocols)], retry=PATIENT)
            for i, truck in enumerate(sorted(fixes))
        }
        self._threads: list[threading.Thread] = []

    def start(self, pace_s: float) -> Fleet:
        for truck, device in self.devices.items():
            thread = threading.Thread(target=_drive, args=(device, self.fixes[truck], pace_s))
            thread.start()
            self._threads.append(thread)
        return self

    def join(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        for device in self.devices.values():
            device._stop.set()
        assert not any(t.is_alive() for t in self._threads), "devices still sending"

    def acked(self) -> dict[str, set[str]]:
        return {d.device_id: d.acked_times() for d in self.devices.values()}

    def generated(self) -> dict[str, set[str]]:
        return {
            self.devices[t].device_id: {_iso(f) for f in fixes} for t, fixes in self.fixes.items()
        }

    def statuses(self) -> list[int | None]:
        return [None if a is None else a[0] for d in self.devices.values() for a in d.answers]

    @property
    def total(self) -> int:
        return sum(len(f) for f in self.fixes.values())


class Probe:
    """One OsmAnd fix every ``interval_s`` from its own device, never retried: it shows
    what a request meets at each moment of a fault."""

    def __init__(self, base_url: str, device_id: str, fixes: list[SimFix], interval_s: float):
        self.base_url, self.device_id = base_url, device_id
        self.fixes, self.interval_s = fixes, interval_s
        self.answers: list[tuple[float, SimFix, int | None, str | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def start(self) -> Probe:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        with requests.Session() as session:
            for fix in self.fixes:
                if self._stop.is_set():
                    return
                status, retry_after = _post(session, self.base_url, self.device_id, [fix])
                self.answers.append((time.monotonic(), fix, status, retry_after))
                self._stop.wait(self.interval_s)

    def between(self, start: float, end: float) -> list[int | None]:
        return [status for t, _, status, _ in self.answers if start <= t <= end]

    def acked_times(self) -> set[str]:
        return {_iso(fix) for _, fix, status, _ in self.answers if status == 200}

    def unavailable_have_retry_after(self) -> bool:
        return all(ra is not None for *_, status, ra in self.answers if status == 503)


def _post(
    session: requests.Session, base_url: str, device_id: str, fixes: list[SimFix]
) -> tuple[int | None, str | None]:
    protocol = Protocol.BATCH if len(fixes) > 1 else Protocol.OSMAND_QUERY
    request = encode(protocol, device_id, fixes)
    url = f"{base_url}{request.path}" + (f"?{request.query}" if request.query else "")
    try:
        response = session.request(
            request.method, url, data=request.body, headers=request.headers, timeout=30
        )
    except requests.RequestException:
        return None, None
    return response.status_code, response.headers.get("Retry-After")


def _drive(device: SimDevice, fixes: list[SimFix], pace_s: float) -> None:
    for fix in fixes:
        device.submit(fix)
        time.sleep(pace_s)
    device.close()


def _iso(fix: SimFix) -> str:
    return fix.t.isoformat(timespec="milliseconds")


def day_of_fixes(trucks: int, per_truck: int) -> dict[str, list[SimFix]]:
    """The first fixes of yesterday's shift for the first ``trucks`` routes."""
    routes, bins, sites = load_reference(ROOT / "routes_data")
    day = date.today() - timedelta(days=1)
    chosen = sorted(routes, key=lambda r: r.truck_id)[:trucks]
    return {
        r.truck_id: list(simulate_truck(r, bins, sites, day=day, seed=7))[:per_truck]
        for r in chosen
    }


def stored(url: str) -> dict[str, set[str]]:
    return {device: set(times) for device, times in fix_times(url).items()}


def missing(acked: dict[str, set[str]], in_db: dict[str, set[str]]) -> int:
    return sum(len(times - in_db.get(device, set())) for device, times in acked.items())


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("faults") / "template.sqlite3"
    sqlite_database(path)
    return path


@pytest.fixture
def fault_pg_url() -> str:
    """A dedicated PostgreSQL database, so the shared ``test`` one is never disturbed."""
    try:
        return postgres_database(FAULT_DB)
    except Exception as exc:  # any failure means PostgreSQL cannot be used here
        message = f"PostgreSQL is not usable for fault tests: {str(exc).splitlines()[0]}"
        if ON_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, template: Path) -> str:
    if request.param == "sqlite":
        return sqlite_database(tmp_path / "fleet.sqlite3", template)
    url: str = request.getfixturevalue("fault_pg_url")
    return url


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[FleetServer]]:
    """Every server a test starts is stopped at its end, whatever happened."""
    started: list[FleetServer] = []
    yield started
    for server in started:
        server.kill()


def test_sigkill_loses_no_acknowledged_fix(
    database_url: str, tmp_path: Path, servers: list[FleetServer]
) -> None:
    fixes = day_of_fixes(trucks=len(PROTOCOLS), per_truck=240)
    ids = add_devices(database_url, fixes)
    server = FleetServer(database_url, tmp_path / "server.log", env=NO_LIMIT)
    servers.append(server.start())
    fleet = Fleet(server.url, ids, fixes).start(pace_s=0.03)

    time.sleep(2.5)
    server.kill()
    acked_at_kill = fleet.acked()
    in_db_after_kill = stored(database_url)
    time.sleep(0.5)
    server.start()
    fleet.join(timeout_s=60)

    acked_count = sum(len(t) for t in acked_at_kill.values())
    assert 0 < acked_count < fleet.total, "the kill did not land mid-ingestion"
    assert missing(acked_at_kill, in_db_after_kill) == 0, server.log_tail()
    assert stored(database_url) == fleet.generated()
    assert count_pings(database_url) == fleet.total
    assert sum(d.stats.dropped for d in fleet.devices.values()) == 0


def _pg_ctl(action: str) -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action]
    subprocess.run(command, check=True, capture_output=True, timeout=60)


def _pg_ready() -> bool:
    probe = ["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]
    return subprocess.run(probe, timeout=10).returncode == 0


@pytest.fixture
def postgres_comes_back() -> Iterator[None]:
    """PostgreSQL is running again after the test, whatever the test did or how it failed."""
    yield
    if not _pg_ready():
        _pg_ctl("start")
    assert wait_until(_pg_ready, 60, 0.5), "PostgreSQL did not come back"


def test_postgres_restart_answers_503_and_loses_nothing(
    fault_pg_url: str, tmp_path: Path, servers: list[FleetServer], postgres_comes_back: None
) -> None:
    fixes = day_of_fixes(trucks=4, per_truck=150)
    ids = add_devices(fault_pg_url, fixes)
    probe_truck = sorted(fixes)[-1]
    probe_fixes = fixes.pop(probe_truck)
    server = FleetServer(fault_pg_url, tmp_path / "server.log", env=NO_LIMIT)
    servers.append(server.start())
    protocols = ("osmand-query", "osmand-json", "batch")
    fleet = Fleet(server.url, ids, fixes, protocols).start(pace_s=0.04)
    probe = Probe(server.url, ids[probe_truck], probe_fixes, interval_s=0.05).start()

    time.sleep(1.5)
    down_at = time.monotonic()
    _pg_ctl("stop")
    time.sleep(2.0)
    up_at = time.monotonic()
    _pg_ctl("start")
    assert wait_until(_pg_ready, 30)
    fleet.join(timeout_s=60)
    probe.stop()

    during = probe.between(down_at + 0.5, up_at)
    assert during and set(during) == {503}, during
    assert probe.unavailable_have_retry_after()
    answers = [s for *_, s, _ in probe.answers] + fleet.statuses()
    assert set(answers) <= {200, 503}, sorted(set(answers), key=str)
    assert probe.answers[-1][2] == 200, "no recovery after the restart"
    in_db = stored(fault_pg_url)
    assert missing({ids[probe_truck]: probe.acked_times()}, in_db) == 0
    assert missing(fleet.generated(), in_db) == 0, server.log_tail()
    assert sum(d.stats.dropped for d in fleet.devices.values()) == 0


REDIS_START = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379",
    "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis",
    "--logfile", "/var/log/redis/ci.log",
]  # fmt: skip


def _redis_up() -> bool:
    ping = ["redis-cli", "-h", "127.0.0.1", "ping"]
    return subprocess.run(ping, capture_output=True, timeout=10).stdout.strip() == b"PONG"


@pytest.fixture
def redis() -> Iterator[str]:
    """The local Redis, started again after the test whatever happened."""
    if shutil.which("redis-server") is None or not _redis_up():
        if ON_CI:
            pytest.fail("Redis is not running on 127.0.0.1:6379")
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    try:
        yield "redis://127.0.0.1:6379/0"
    finally:
        if not _redis_up():
            subprocess.run(REDIS_START, check=True, timeout=30)
        assert wait_until(_redis_up, 30), "Redis did not come back"


class LiveWatcher:
    """A public map's Socket.IO connection, noting when each ``positions`` event came."""

    def __init__(self, base_url: str) -> None:
        self.arrivals: list[float] = []
        self.client = socketio.Client(reconnection=True)
        self.client.on("positions", self._on_positions, namespace="/live")
        self.client.connect(base_url, namespaces=["/live"], wait_timeout=10)

    def _on_positions(self, data: dict[str, object]) -> None:
        self.arrivals.append(time.monotonic())

    def since(self, moment: float) -> int:
        return sum(1 for t in self.arrivals if t >= moment)


def test_redis_outage_keeps_ingesting_and_live_updates_resume(
    template: Path, tmp_path: Path, servers: list[FleetServer], redis: str
) -> None:
    url = sqlite_database(tmp_path / "fleet.sqlite3", template)
    fixes = day_of_fixes(trucks=1, per_truck=400)
    [(truck, truck_fixes)] = fixes.items()
    ids = add_devices(url, fixes)
    env = {**NO_LIMIT, "FLEET_MESSAGE_QUEUE": redis, "FLEET_HIDE_OFF_SHIFT": "false"}
    server = FleetServer(url, tmp_path / "server.log", env=env)
    servers.append(server.start())
    watcher = LiveWatcher(server.url)
    probe = Probe(server.url, ids[truck], truck_fixes, interval_s=0.05).start()
    try:
        assert wait_until(lambda: watcher.since(0) > 0, 10), "no live update before the outage"
        subprocess.run(["redis-cli", "-h", "127.0.0.1", "shutdown", "nosave"], timeout=10)
        down_at = time.monotonic()
        time.sleep(3.0)
        subprocess.run(REDIS_START, check=True, timeout=30)
        up_at = time.monotonic()
        assert wait_until(lambda: watcher.since(up_at) > 0, 20), server.log_tail()
    finally:
        probe.stop()
        watcher.client.disconnect()
    during = probe.between(down_at, up_at)
    assert len(during) > 10 and set(during) == {200}, during
    assert missing({ids[truck]: probe.acked_times()}, stored(url)) == 0


def _stored_share(url: str, device_id: str, fixes: list[SimFix]) -> float:
    times = stored(url).get(device_id, set())
    return sum(_iso(f) in times for f in fixes) / len(fixes)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 6 MiB file system of its own (tmpfs), so filling it up harms nothing else."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount_point)]
    result = subprocess.run(mount, capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], timeout=30)


def _fill(folder: Path) -> Path:
    """Write a file until the file system is full; returns it, to delete later."""
    filler = folder / "filler"
    chunk = b"\0" * 65536
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(chunk)
        except OSError:
            pass
    return filler


def test_disk_full_answers_503_and_stores_nothing_half(
    template: Path, small_disk: Path, tmp_path: Path, servers: list[FleetServer]
) -> None:
    url = sqlite_database(small_disk / "fleet.sqlite3", template)
    fixes = day_of_fixes(trucks=1, per_truck=1500)
    [(truck, truck_fixes)] = fixes.items()
    device = add_devices(url, fixes)[truck]
    server = FleetServer(url, tmp_path / "server.log", env=NO_LIMIT)
    servers.append(server.start())
    batches = [truck_fixes[i : i + 100] for i in range(0, len(truck_fixes), 100)]
    answers: list[tuple[int | None, str | None]] = []
    with requests.Session() as session:
        assert _post(session, server.url, device, batches[0])[0] == 200
        filler = _fill(small_disk)
        for batch in batches[1:]:
            answers.append(_post(session, server.url, device, batch))
            if answers[-1][0] != 200:
                break
        status, retry_after = answers[-1]
        failed = batches[len(answers)]
        assert status == 503 and retry_after, (answers, server.log_tail())
        assert _stored_share(url, device, failed) == 0.0
        filler.unlink()
        assert _post(session, server.url, device, failed)[0] == 200, server.log_tail()
    assert _stored_share(url, device, failed) == 1.0
    assert all(_stored_share(url, device, b) == 1.0 for b in batches[: len(answers) + 1])


def _busy_timeout_ms() -> tuple[int, dict[str, str]]:
    """A short SQLite busy timeout where the setting exists, else the built-in 10 s."""
    from fleet.config import SETTINGS

    if any(s.name == "SQLITE_BUSY_TIMEOUT_MS" for s in SETTINGS):
        return 500, {"FLEET_SQLITE_BUSY_TIMEOUT_MS": "500"}
    return 10_000, {}


def _time_reads(url: str, seconds: list[float], count: int) -> None:
    """Public map reads, one a second, each timed, while a device's write waits."""
    for _ in range(count):
        time.sleep(1.0)
        began = time.monotonic()
        requests.get(f"{url}/api/v1/trucks", timeout=30).raise_for_status()
        seconds.append(time.monotonic() - began)


def test_database_locked_answers_503_and_stores_nothing_half(
    template: Path, tmp_path: Path, servers: list[FleetServer]
) -> None:
    path = tmp_path / "fleet.sqlite3"
    url = sqlite_database(path, template)
    fixes = day_of_fixes(trucks=1, per_truck=12)
    [(truck, truck_fixes)] = fixes.items()
    device = add_devices(url, fixes)[truck]
    busy_ms, env = _busy_timeout_ms()
    server = FleetServer(url, tmp_path / "server.log", env={**NO_LIMIT, **env})
    servers.append(server.start())
    single, batch = truck_fixes[1:2], truck_fixes[2:]
    with requests.Session() as session:
        assert _post(session, server.url, device, truck_fixes[:1])[0] == 200
        locker = sqlite3.connect(path, isolation_level=None, timeout=busy_ms / 1000 + 5)
        readers: list[float] = []
        try:
            locker.execute("BEGIN EXCLUSIVE")
            reader = threading.Thread(target=_time_reads, args=(server.url, readers, 3))
            reader.start()
            while_locked = [_post(session, server.url, device, f) for f in (single, batch)]
            reader.join()
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        assert all(s == 503 and ra for s, ra in while_locked), (while_locked, server.log_tail())
        # a write waiting for the lock does not hold up the rest of the server
        assert len(readers) == 3 and max(readers) < 3.0, readers
        assert _stored_share(url, device, single + batch) == 0.0
        after = [_post(session, server.url, device, f)[0] for f in (single, batch)]
    assert after == [200, 200]
    assert _stored_share(url, device, truck_fixes) == 1.0
