"""Ingestion throughput beside the stack's ceiling, measured in the same run.

Rows: a bare Flask app on the same server stack (gevent + Flask-SocketIO, one route
answering 200: the ceiling), then ``fleet serve`` on SQLite and on PostgreSQL, each
taking single-fix OsmAnd requests (wrk, keep-alive, a Lua script that walks simulated
trucks forward in time so no fix repeats) and JSON batches of 1,000 fixes (a Python
client on keep-alive sessions, bodies encoded before the clock starts). Durable
fixes/s counts rows in ``pings`` afterwards, not answers. The CPU columns show who was
busy: a server near 100 % of its one core with the load generator below that means
the server, not the generator, set the rate. Each backend runs four times by default:
``fleet serve`` as it comes (processing in its child process, whose CPU is not in the
server column); ``--inline-worker`` (processing in the server process); ``fleet serve
--no-worker`` beside a ``fleet worker`` process (``+worker``, CPU of both summed); and
with nothing processing (``ingest only``: the acknowledging path alone, as during a
burst of uploads the worker catches up on afterwards). The backlog is the pings
acknowledged but not yet processed when the run ends.

    .venv/bin/python simulations/bench_ingest.py [--seconds 10] [--connections 50]
        [--backends sqlite,postgresql] [--worker child,inline,separate,none]
        [--env NAME=value]
"""

from __future__ import annotations

import sys

if __name__ == "__main__" and "--bare-port" in sys.argv:
    from gevent import monkey

    monkey.patch_all()

import argparse
import json
import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

NO_LIMIT = {"FLEET_DEVICE_RATE": "1000000", "FLEET_DEVICE_BURST": "1000000"}
DEVICES = 50
POSITIONS = 200


def serve_bare(port: int) -> None:
    """The ceiling: one route answering 200 on every path, served as fleet serves."""
    from flask import Flask, Response
    from flask_socketio import SocketIO

    app = Flask("bare")

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
    @app.route("/<path:path>", methods=["GET", "POST"])
    def ok(path: str) -> Response:
        return Response(status=200)

    socketio = SocketIO(app, async_mode="gevent", logger=False, engineio_logger=False)
    socketio.run(app, host="127.0.0.1", port=port, log_output=False)


@dataclass(frozen=True)
class Row:
    name: str
    requests_per_s: float
    fixes_per_s: float
    durable_per_s: float | None
    errors: int
    p99_ms: float | None
    server_cpu: float
    loader_cpu: float
    backlog: int | None = None


def traces() -> list[list[tuple[float, float, float]]]:
    """Per simulated truck: (lat, lon, speed_mps) along its route, ``POSITIONS`` long."""
    from fleet.simrun import load_reference
    from fleet.simulator import simulate_truck

    routes, bins, sites = load_reference(ROOT / "routes_data")
    day = date.today() - timedelta(days=1)
    out = []
    for route in sorted(routes, key=lambda r: r.truck_id)[:DEVICES]:
        fixes = list(simulate_truck(route, bins, sites, day=day, seed=3))[100 : 100 + POSITIONS]
        out.append([(f.lat, f.lon, f.speed_mps) for f in fixes])
    return out


def lua_script(
    devices: list[str], paths: list[list[tuple[float, float, float]]], hours_ago: int
) -> str:
    """wrk script: device i's n-th fix is at base + n seconds, at its trace's position.

    The warm-up runs an hour earlier than the measured run: wrk starts counting at 0
    again, and the same fix times would come back as duplicates, not stored."""
    base = int((datetime.now(UTC) - timedelta(hours=hours_ago)).timestamp())
    rows = ",\n".join(
        "{"
        + ",".join(f"{{{lat:.7f},{lon:.7f},{speed * 1.9438:.2f}}}" for lat, lon, speed in p)
        + "}"
        for p in paths
    )
    ids = ",".join(f'"{d}"' for d in devices)
    return f"""
local ids = {{{ids}}}
local paths = {{{rows}}}
local counts = {{}}
local k = 0
for i = 1, #ids do counts[i] = 0 end
request = function()
  k = k % #ids + 1
  local n = counts[k]
  counts[k] = n + 1
  local p = paths[k][n % #paths[k] + 1]
  local path = string.format("/osmand?id=%s&timestamp=%d&lat=%.7f&lon=%.7f&speed=%.2f",
    ids[k], {base} + n, p[1], p[2], p[3])
  return wrk.format("POST", path)
end
"""


def cpu_s(pid: int | Sequence[int]) -> float:
    """User + system CPU seconds of a process (or of several, summed), from /proc."""
    if not isinstance(pid, int):
        return sum(cpu_s(p) for p in pid)
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(
    url: str, script: Path, seconds: int, connections: int, server_pid: int | list[int]
) -> Row:
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
    server0 = cpu_s(server_pid)
    proc = subprocess.Popen([*args, url], stdout=subprocess.PIPE, text=True)
    loader = 0.0
    while proc.poll() is None:
        try:
            loader = cpu_s(proc.pid)
        except (FileNotFoundError, ProcessLookupError):
            break
        time.sleep(0.2)
    out = proc.communicate()[0]
    server = (cpu_s(server_pid) - server0) / seconds
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    bad = int(errors.group(1)) if errors else 0
    bad += sum(int(g) for g in socket_errors.groups()) if socket_errors else 0
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99_ms = None
    if p99:
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
        p99_ms = float(p99.group(1)) * scale
    return Row("", rate, rate, None, bad, p99_ms, server, loader / seconds)


def batch_bodies(
    paths: list[list[tuple[float, float, float]]], per_device: int
) -> list[list[bytes]]:
    """Per device, ``per_device`` bodies of 1,000 fixes one second apart, encoded now."""
    base = datetime.now(UTC) - timedelta(hours=20)
    out = []
    for path in paths:
        bodies = []
        for b in range(per_device):
            items = []
            for n in range(b * 1000, (b + 1) * 1000):
                lat, lon, speed = path[n % len(path)]
                moment = (base + timedelta(seconds=n)).isoformat(timespec="seconds")
                items.append({"time": moment, "lat": lat, "lon": lon, "speed_mps": speed})
            bodies.append(json.dumps(items).encode())
        out.append(bodies)
    return out


def run_batches(
    url: str,
    devices: list[str],
    bodies: list[list[bytes]],
    seconds: int,
    server_pid: int | list[int],
) -> Row:
    import requests

    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    stored, errors = [0], [0]
    lock = threading.Lock()

    def post_all(i: int) -> None:
        headers = {"Authorization": f"Bearer {devices[i]}", "Content-Type": "application/json"}
        with requests.Session() as session:
            for body in bodies[i]:
                if time.monotonic() > deadline:
                    return
                began = time.monotonic()
                answer = session.post(f"{url}/api/v1/pings", data=body, headers=headers)
                with lock:
                    latencies.append(time.monotonic() - began)
                    if answer.status_code == 200:
                        stored[0] += answer.json()["stored"]
                    else:
                        errors[0] += 1

    server0, loader0 = cpu_s(server_pid), time.process_time()
    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        list(pool.map(post_all, range(len(bodies))))
    wall = time.monotonic() - began
    latencies.sort()
    p99 = latencies[int(0.99 * (len(latencies) - 1))] * 1000 if latencies else None
    return Row(
        "",
        len(latencies) / wall,
        stored[0] / wall,
        None,
        errors[0],
        p99,
        (cpu_s(server_pid) - server0) / wall,
        (time.process_time() - loader0) / wall,
    )


def start_bare(folder: Path) -> subprocess.Popen[bytes]:
    from serverproc import free_port

    port = free_port()
    log = (folder / "bare.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, __file__, "--bare-port", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    import requests

    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=1)
            break
        except requests.RequestException:
            time.sleep(0.1)
    proc.port = port  # type: ignore[attr-defined]
    return proc


def with_worker(base: type) -> type:
    """The server type plus one ``fleet worker`` process on the same database (give the
    server ``--no-worker``)."""
    from serverproc import FLEET

    @dataclass
    class WithWorker(base):  # type: ignore[misc, valid-type]
        worker: subprocess.Popen[bytes] | None = None

        def start(self, timeout_s: float = 30.0) -> WithWorker:
            super().start(timeout_s)
            with self.log_path.open("ab") as log:
                self.worker = subprocess.Popen(
                    [str(FLEET), "worker"], env=self.environment(), stdout=log, stderr=log
                )
            return self

        @property
        def pids(self) -> list[int]:
            return [p.pid for p in (self.proc, self.worker) if p is not None]

        def terminate(self, timeout_s: float = 10.0) -> None:
            super().terminate(timeout_s)
            if self.worker is not None:
                self.worker.terminate()
                self.worker.wait(timeout_s)

    return WithWorker


def backlog(url: str) -> int:
    """Pings acknowledged but not yet snapped and counted."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM pending_pings")).scalar_one())
    finally:
        engine.dispose()


def measure_backend(
    name: str,
    make_url: Callable[[], str],
    folder: Path,
    args: argparse.Namespace,
    paths: list[list[tuple[float, float, float]]],
    script_for: Callable[[list[str], int], Path],
    mode: str,
) -> list[Row]:
    from serverproc import FleetServer, add_devices, count_pings

    server_type = with_worker(FleetServer) if mode == "separate" else FleetServer
    serve_args = {
        "child": (),
        "inline": ("--inline-worker",),
        "separate": ("--no-worker",),
        "none": ("--no-worker",),
    }[mode]
    name += {"child": "", "inline": " inline", "separate": "+worker", "none": " ingest only"}[mode]
    trucks = [f"KP-{i:02d}" for i in range(1, DEVICES + 1)]
    rows = []
    url = make_url()
    ids = add_devices(url, trucks)
    devices = [ids[t] for t in trucks]
    env = {**NO_LIMIT, **dict(e.split("=", 1) for e in args.env)}
    with server_type(url, folder / f"{name}.log", env=env, serve_args=serve_args) as server:
        pids = getattr(server, "pids", [server.proc.pid])
        run_wrk(server.url, script_for(devices, 21), 2, args.connections, pids)
        before = count_pings(url)
        row = run_wrk(server.url, script_for(devices, 20), args.seconds, args.connections, pids)
        durable = (count_pings(url) - before) / args.seconds
        row = replace(row, backlog=backlog(url))
        rows.append(replace(row, name=f"{name} OsmAnd single fix", durable_per_s=durable))
        url2 = make_url()
        ids2 = add_devices(url2, trucks[: args.batch_devices])
    with server_type(url2, folder / f"{name}-batch.log", env=env, serve_args=serve_args) as server:
        pids = getattr(server, "pids", [server.proc.pid])
        bodies = batch_bodies(paths[: args.batch_devices], args.batches_per_device)
        devices2 = [ids2[t] for t in trucks[: args.batch_devices]]
        before = count_pings(url2)
        began = time.monotonic()
        row = run_batches(server.url, devices2, bodies, args.seconds, pids)
        wall = time.monotonic() - began
        durable = (count_pings(url2) - before) / wall
        row = replace(row, backlog=backlog(url2))
        rows.append(replace(row, name=f"{name} batch x1000", durable_per_s=durable))
    return rows


def table(rows: list[Row]) -> str:
    head = (
        f"{'run':<36}{'req/s':>9}{'fixes/s':>10}{'durable/s':>11}{'errors':>8}{'p99 ms':>9}"
        f"{'server CPU':>12}{'loader CPU':>12}{'backlog':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        durable = "-" if r.durable_per_s is None else f"{r.durable_per_s:,.0f}"
        p99 = "-" if r.p99_ms is None else f"{r.p99_ms:.1f}"
        queued = "-" if r.backlog is None else f"{r.backlog:,}"
        lines.append(
            f"{r.name:<36}{r.requests_per_s:>9,.0f}{r.fixes_per_s:>10,.0f}{durable:>11}"
            f"{r.errors:>8}{p99:>9}{r.server_cpu:>11.0%}{r.loader_cpu:>12.0%}{queued:>9}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--batch-devices", type=int, default=4)
    parser.add_argument("--batches-per-device", type=int, default=40)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--env", action="append", default=[], help="NAME=value for fleet serve")
    parser.add_argument(
        "--worker",
        default="child,inline,separate,none",
        help="child (fleet serve as it comes), inline (--inline-worker), separate (a fleet"
        " worker process), none (nothing processes: ingestion alone), comma-separated",
    )
    args = parser.parse_args()
    from serverproc import postgres_database, sqlite_database

    folder = Path(tempfile.mkdtemp(prefix="bench_ingest_"))
    paths = traces()

    def script_for(devices: list[str], hours_ago: int) -> Path:
        script = folder / f"osmand-{devices[0][:6]}-{hours_ago}.lua"
        script.write_text(lua_script(devices, paths, hours_ago))
        return script

    bare = start_bare(folder)
    try:
        fake = [f"bare{i}" for i in range(DEVICES)]
        bare_url = f"http://127.0.0.1:{bare.port}"  # type: ignore[attr-defined]
        run_wrk(bare_url, script_for(fake, 21), 2, args.connections, bare.pid)
        row = run_wrk(bare_url, script_for(fake, 20), args.seconds, args.connections, bare.pid)
        rows = [replace(row, name="bare Flask (ceiling)")]
    finally:
        bare.terminate()
        bare.wait(10)
    counter = iter(range(1000))
    makers: dict[str, Callable[[], str]] = {
        "sqlite": lambda: sqlite_database(folder / f"bench{next(counter)}.sqlite3"),
        "postgresql": lambda: postgres_database("fleet_bench"),
    }
    for name in args.backends.split(","):
        for mode in args.worker.split(","):
            rows += measure_backend(name, makers[name], folder, args, paths, script_for, mode)
    print(table(rows))
    ceiling = rows[0].requests_per_s
    for r in rows[1:]:
        if "OsmAnd" in r.name:
            print(f"{r.name}: {r.requests_per_s / ceiling:.0%} of the bare endpoint (target 60 %)")
        else:
            print(f"{r.name}: {r.durable_per_s or 0:,.0f} durable fixes/s (target 20,000)")
    print(f"logs and databases in {folder}")


if __name__ == "__main__":
    if "--bare-port" in sys.argv:
        serve_bare(int(sys.argv[sys.argv.index("--bare-port") + 1]))
    else:
        main()
