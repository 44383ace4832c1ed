"""Processing in the server's child process (fleet/worker_process.py).

The pipe format round-trips; a real ``fleet serve`` processes through its child, a
killed child is replaced and catches up on what was queued meanwhile, and the child
does not outlive its server.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from serverproc import FleetServer, add_devices, sqlite_database, wait_until

from fleet import create_app
from fleet.broadcast import BinUpdate, LivePosition
from fleet.pipeline import ProcessResult
from fleet.runtime import get_runtime
from fleet.worker_process import decode_result, encode_result

ENV = {"FLEET_HIDE_OFF_SHIFT": "false", "FLEET_BROADCAST_INTERVAL_S": "0.2"}


def test_a_result_crosses_the_pipe_unchanged() -> None:
    moment = datetime(2026, 11, 23, 1, 2, 3, 456789, tzinfo=UTC)
    result = ProcessResult(
        processed=3,
        position=LivePosition(
            "KP-07", "KP-07", -10.17, 123.6, 90.0, None, 812.5, "on_route", moment, True
        ),
        bins=[BinUpdate("B-0001", moment, "today")],
        route_ids={"KP-07", "KP-08"},
        alerts=[{"id": 4, "kind": "off_route", "message": "KP-07 left route KP-07"}],
    )
    line = encode_result(result)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert decode_result(line) == result
    assert decode_result(encode_result(ProcessResult())) == ProcessResult()


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


@pytest.mark.slow
def test_the_server_processes_in_a_child_that_is_replaced_and_dies_with_it(
    tmp_path: Path,
) -> None:
    url = sqlite_database(tmp_path / "fleet.sqlite3")
    device = add_devices(url, ["KP-01"])["KP-01"]
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "t", "TESTING": True})
    network = get_runtime(app).reference.get().network()["KP-01"]
    lons, lats = network.lonlat_at([800.0, 820.0, 840.0, 860.0])
    get_runtime(app).db.engine.dispose()
    start_s = int(time.time()) - 600
    server = FleetServer(url, tmp_path / "server.log", env=ENV).start()
    try:

        def post(n: int) -> None:
            params = {"id": device, "timestamp": start_s + n, "lat": lats[n], "lon": lons[n]}
            assert requests.post(f"{server.url}/osmand", params=params, timeout=10).ok

        def live_fix_time() -> str | None:
            trucks = requests.get(f"{server.url}/api/v1/trucks", timeout=10).json()["features"]
            return next((t["properties"]["fix_time"] for t in trucks), None)

        def shows(n: int) -> bool:
            return live_fix_time() == datetime.fromtimestamp(start_s + n, UTC).isoformat()

        assert server.proc is not None
        assert wait_until(lambda: len(_children(server.proc.pid)) == 1, 15.0)
        [child] = _children(server.proc.pid)
        post(0)
        assert wait_until(lambda: shows(0), 15.0), server.log_tail()

        os.kill(child, signal.SIGKILL)
        post(1)  # queued while no child runs: the next child catches up
        post(2)
        assert wait_until(lambda: [c for c in _children(server.proc.pid) if c != child], 15.0)
        [successor] = [c for c in _children(server.proc.pid) if c != child]
        assert wait_until(lambda: shows(2), 15.0), server.log_tail()

        server.kill()
        assert wait_until(lambda: not _alive(successor), 10.0), "the child outlived its server"
    finally:
        server.terminate()
