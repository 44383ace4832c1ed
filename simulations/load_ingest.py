"""Ingestion at rising rates until it breaks: p99 latency over 1 s or over 1 % errors.

Open loop: each request has a scheduled send time at the step's rate, and its latency
counts from that time, so a server that falls behind shows it in p99 instead of
silently slowing the generator. Fixes come from ``--devices`` simulated trucks, each
moving forward in time so none repeats; ``--batch-size 1`` sends OsmAnd single fixes
(as most phones do), larger sizes use the JSON batch API.

    .venv/bin/python simulations/load_ingest.py [--backend sqlite] [--rates 100,200,400]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "simulations"))

from bench_ingest import NO_LIMIT, traces  # noqa: E402
from serverproc import (  # noqa: E402
    FleetServer,
    add_devices,
    count_pings,
    postgres_database,
    sqlite_database,
)


@dataclass(frozen=True)
class Step:
    rate_fixes_per_s: int
    achieved_fixes_per_s: float
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float

    @property
    def error_share(self) -> float:
        return self.errors / max(1, self.requests)

    @property
    def broken(self) -> bool:
        return self.p99_ms > 1000.0 or self.error_share > 0.01


class Load:
    """Builds each device's next request: its n-th fix is at base + n seconds."""

    def __init__(self, base_url: str, devices: list[str], batch_size: int) -> None:
        self.base_url, self.devices, self.batch_size = base_url, devices, batch_size
        self.paths = traces()
        self.base = int((datetime.now(UTC) - timedelta(hours=20)).timestamp())
        self.counts = [0] * len(devices)
        self._lock = threading.Lock()
        self._local = threading.local()

    def send(self, k: int) -> int | None:
        i = k % len(self.devices)
        with self._lock:
            n = self.counts[i]
            self.counts[i] += self.batch_size
        session = getattr(self._local, "session", None) or requests.Session()
        self._local.session = session
        try:
            if self.batch_size == 1:
                return self._osmand(session, i, n)
            return self._batch(session, i, n)
        except requests.RequestException:
            return None

    def _position(self, i: int, n: int) -> tuple[float, float, float]:
        path = self.paths[i % len(self.paths)]
        return path[n % len(path)]

    def _osmand(self, session: requests.Session, i: int, n: int) -> int:
        lat, lon, speed = self._position(i, n)
        params = {"id": self.devices[i], "timestamp": self.base + n, "lat": lat, "lon": lon}
        params["speed"] = round(speed * 1.9438, 2)
        return session.post(f"{self.base_url}/osmand", params=params, timeout=10).status_code

    def _batch(self, session: requests.Session, i: int, n: int) -> int:
        items = []
        for m in range(n, n + self.batch_size):
            lat, lon, speed = self._position(i, m)
            moment = datetime.fromtimestamp(self.base + m, UTC).isoformat()
            items.append({"time": moment, "lat": lat, "lon": lon, "speed_mps": speed})
        headers = {"Authorization": f"Bearer {self.devices[i]}"}
        url = f"{self.base_url}/api/v1/pings"
        return session.post(url, json=items, headers=headers, timeout=10).status_code


def run_step(load: Load, rate: int, seconds: float, workers: int) -> Step:
    per_s = rate / load.batch_size
    total = int(per_s * seconds)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = time.monotonic() + 0.2

    def task(k: int, due: float) -> None:
        status = load.send(k)
        with lock:
            latencies.append(time.monotonic() - due)
            errors[0] += status != 200

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for k in range(total):
            due = start + k / per_s
            time.sleep(max(0.0, due - time.monotonic()))
            pool.submit(task, k, due)
    wall = time.monotonic() - start
    latencies.sort()
    return Step(
        rate,
        len(latencies) * load.batch_size / wall,
        len(latencies),
        errors[0],
        latencies[len(latencies) // 2] * 1000,
        latencies[int(0.99 * (len(latencies) - 1))] * 1000,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rates", default="50,100,150,200,300,400,800,1600")
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=64)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="load_ingest_"))
    if args.backend == "sqlite":
        url = sqlite_database(folder / "fleet.sqlite3")
    else:
        url = postgres_database("fleet_load")
    trucks = [f"KP-{i:02d}" for i in range(1, args.devices + 1)]
    ids = add_devices(url, trucks)
    print(f"{args.backend}, {args.devices} devices, {args.batch_size} fix(es) per request")
    print(
        f"{'target fixes/s':>15}{'achieved':>10}{'requests':>10}{'errors':>8}"
        f"{'p50 ms':>9}{'p99 ms':>9}"
    )
    held: Step | None = None
    with FleetServer(url, folder / "server.log", env=NO_LIMIT) as server:
        load = Load(server.url, [ids[t] for t in trucks], args.batch_size)
        for rate in (int(r) for r in args.rates.split(",")):
            step = run_step(load, rate, args.seconds, args.workers)
            print(
                f"{step.rate_fixes_per_s:>15,}{step.achieved_fixes_per_s:>10,.0f}"
                f"{step.requests:>10,}{step.error_share:>8.1%}{step.p50_ms:>9.0f}{step.p99_ms:>9.0f}"
            )
            if step.broken:
                break
            held = step
        time.sleep(2)
    acked = sum(load.counts)
    print(f"held: {held.rate_fixes_per_s if held else 0} fixes/s; broke at {step.rate_fixes_per_s}")
    print(f"pings stored {count_pings(url):,} of {acked:,} fixes sent (refused ones included)")
    print(f"log and database in {folder}")


if __name__ == "__main__":
    main()
