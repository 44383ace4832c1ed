"""Faults a real server survives without losing a fix it acknowledged.

Each test runs ``fleet serve`` as a subprocess (``serverproc``) and drives it with the
simulated phones of ``fleet.devices``, which buffer, back off and retry as Traccar
Client does. The promise under test: a 200 means the fix is in the database, and a
device that keeps retrying gets every fix in exactly once, whatever broke meanwhile.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from serverproc import (
    FleetServer,
    add_devices,
    count_pings,
    fix_times,
    postgres_database,
    sqlite_database,
)

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
        self._acked_lock = threading.Lock()

    def _deliver(self, chunk: list[SimFix]) -> bool:
        dropped = self.stats.dropped
        delivered = super()._deliver(chunk)
        if delivered and self.stats.dropped == dropped:
            with self._acked_lock:
                self.acked.extend(chunk)
        return delivered

    def acked_times(self) -> set[str]:
        with self._acked_lock:
            return {_iso(f) for f in self.acked}


class Fleet:
    """A few phones, each on its own thread, sending their fixes paced and in order."""

    def __init__(self, base_url: str, ids: dict[str, str], fixes: dict[str, list[SimFix]]):
        self.fixes = fixes
        self.devices = {
            truck: AuditedDevice(base_url, ids[truck], PROTOCOLS[i % len(PROTOCOLS)], retry=PATIENT)
            for i, truck in enumerate(sorted(ids))
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

    @property
    def total(self) -> int:
        return sum(len(f) for f in self.fixes.values())


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
