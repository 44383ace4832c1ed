"""Ingestion rate and live fan-out with 1, 2 and 4 ``fleet serve`` processes, side by side.

The topology of ``docker-compose.yml`` on loopback: PostgreSQL + PostGIS, Redis as the
Socket.IO queue (a channel of this run's own), N server processes, nginx in front
(``deploy/nginx.conf`` with the upstreams pointed at the local ports). The 1-process
row is the baseline, measured in the same run on the same machine.

Ingestion: wrk sends single-fix OsmAnd requests through nginx (keep-alive, a Lua script
walking 50 simulated trucks forward so no fix repeats); durable fixes/s counts rows in
``pings``. Fan-out: viewers (python-socketio clients on gevent, in a process of their
own) connect to the processes round-robin, as nginx's ip_hash spreads distinct IPs,
while 50 trucks post one fix per second each through nginx; lag is from the fix's time
(stamped when sent) to its arrival at a viewer, so it includes the flush interval.

    .venv/bin/python simulations/bench_scale.py [--processes 1,2,4] [--seconds 10]
        [--viewers 400] [--connections 32]

All of it shares this machine's cores: the CPU columns say who was busy.
"""

from __future__ import annotations

import sys

if __name__ == "__main__" and "--viewers-child" in sys.argv:
    from gevent import monkey

    monkey.patch_all()

import argparse
import json
import os
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

DATABASE = "fleet_bench_scale"
LIVE_TABLES = ("alerts", "bin_visits", "site_visits", "pings", "truck_state", "devices", "users")
TRUCKS = 50
ENV = {
    "FLEET_DEVICE_RATE": "1000000",
    "FLEET_DEVICE_BURST": "1000000",
    "FLEET_HIDE_OFF_SHIFT": "false",
}


@dataclass(frozen=True)
class Result:
    processes: int
    requests_per_s: float
    durable_per_s: float
    errors: int
    p99_ms: float | None
    server_cores: float
    viewers: int
    messages_per_s: float
    updates_per_s: float
    fan_cores: float
    delivered_pct: float
    lag_p50_ms: float
    lag_p99_ms: float


def nginx_conf(folder: Path, ports: list[int], listen: int, osmand: int) -> Path:
    """deploy/nginx.conf with its upstreams on local ports and its files in ``folder``."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    servers = "".join(f"server 127.0.0.1:{p};\n        " for p in ports)
    text = text.replace("server app:5000 max_fails=3 fail_timeout=10s;", servers.strip())
    text = text.replace("server app:5055 max_fails=3 fail_timeout=10s;", servers.strip())
    text = text.replace("listen 80;", f"listen 127.0.0.1:{listen};")
    text = text.replace("listen 5055;", f"listen 127.0.0.1:{osmand};")
    text = text.replace("worker_processes auto;", "worker_processes 1;")
    head = f"error_log {folder}/error.log;\npid {folder}/nginx.pid;\n"
    temps = "".join(
        f"    {kind}_temp_path {folder}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    text = head + text.replace("http {\n", "http {\n" + temps, 1)
    path = folder / "nginx.conf"
    path.write_text(text)
    return path


def start_nginx(folder: Path, ports: list[int]) -> tuple[subprocess.Popen[bytes], str]:
    from serverproc import free_port

    listen = free_port()
    conf = nginx_conf(folder, ports, listen, free_port())
    proc = subprocess.Popen(["nginx", "-c", str(conf), "-g", "daemon off;"])
    time.sleep(0.5)
    if proc.poll() is not None:
        raise RuntimeError((folder / "error.log").read_text())
    return proc, f"http://127.0.0.1:{listen}"


def reset(url: str) -> dict[str, str]:
    """Empty live tables, fresh devices for the first ``TRUCKS`` trucks."""
    from conftest import LIVE_TABLES
    from serverproc import add_devices
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        tables = [
            t for t in LIVE_TABLES if conn.execute(text(f"SELECT to_regclass('{t}')")).scalar()
        ]
        extra = (
            ["pending_pings"]
            if conn.execute(text("SELECT to_regclass('pending_pings')")).scalar()
            else []
        )
        conn.execute(text(f"TRUNCATE {', '.join(tables + extra)} RESTART IDENTITY CASCADE"))
    engine.dispose()
    trucks = [f"KP-{n:02d}" for n in range(1, TRUCKS + 1)]
    return add_devices(url, trucks)


def count(url: str, query: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(query)).scalar_one())
    finally:
        engine.dispose()


def settle(url: str, timeout_s: float = 120.0) -> float:
    """Seconds until no stored ping waits for the worker (0 without a worker queue)."""
    if not count(url, "SELECT (to_regclass('pending_pings') IS NOT NULL)::int"):
        return 0.0
    start = time.monotonic()
    while count(url, "SELECT count(*) FROM pending_pings") and time.monotonic() - start < timeout_s:
        time.sleep(0.2)
    return time.monotonic() - start


def ingest(
    url: str,
    front: str,
    ids: dict[str, str],
    folder: Path,
    args: argparse.Namespace,
    pids: list[int],
) -> tuple[Any, float, float, float]:
    from bench_ingest import cpu_s, lua_script, run_wrk, traces

    script = folder / "osmand.lua"
    script.write_text(lua_script(list(ids.values()), traces()))
    run_wrk(front, script, 2, args.connections, pids[0])
    before = count(url, "SELECT count(*) FROM pings")
    cpu0 = sum(cpu_s(p) for p in pids)
    row = run_wrk(front, script, args.seconds, args.connections, pids[0])
    cores = (sum(cpu_s(p) for p in pids) - cpu0) / args.seconds
    stored = count(url, "SELECT count(*) FROM pings") - before
    drain_s = settle(url)
    return row, stored / args.seconds, cores, drain_s


def feed(front: str, ids: dict[str, str], seconds: float, sent: list[int]) -> None:
    """Each truck one fix per second, stamped with the wall clock when sent."""
    import requests

    lanes = 5
    trucks = list(ids.values())

    def lane(mine: list[str]) -> None:
        with requests.Session() as session:
            end = time.monotonic() + seconds
            tick = time.monotonic()
            while tick < end:
                for n, device in enumerate(mine):
                    now = datetime.now(UTC)
                    body = [
                        {
                            "time": now.isoformat(timespec="milliseconds"),
                            "lat": -10.17 + n * 1e-4,
                            "lon": 123.6 + (tick % 100) * 1e-5,
                        }
                    ]
                    r = session.post(
                        f"{front}/api/v1/pings",
                        json=body,
                        headers={"Authorization": f"Bearer {device}"},
                        timeout=10,
                    )
                    if r.status_code == 200:
                        sent.append(1)
                tick += 1.0
                time.sleep(max(0.0, tick - time.monotonic()))

    threads = [threading.Thread(target=lane, args=(trucks[i::lanes],)) for i in range(lanes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def fan_out(
    front: str,
    urls: list[str],
    ids: dict[str, str],
    args: argparse.Namespace,
    folder: Path,
    pids: list[int],
) -> dict[str, float]:
    from bench_ingest import cpu_s

    out = folder / "viewers.json"
    child = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--viewers-child",
            ",".join(urls),
            str(args.viewers),
            str(args.seconds + 3),
            str(out),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready", "viewers did not connect"
    sent: list[int] = []
    cpu0 = sum(cpu_s(p) for p in pids)
    feed(front, ids, args.seconds, sent)
    cores = (sum(cpu_s(p) for p in pids) - cpu0) / args.seconds
    child.wait(timeout=args.seconds + 120)
    summary = json.loads(out.read_text())
    summary["cores"] = cores
    summary["messages_per_s"] = summary["messages"] / args.seconds
    expected = len(sent) * summary["connected"]
    summary["delivered_pct"] = 100.0 * summary["updates"] / expected if expected else 0.0
    summary["updates_per_s"] = summary["updates"] / args.seconds
    return summary


def viewers_child(urls: list[str], wanted: int, seconds: float, out: Path) -> None:
    """Under gevent: ``wanted`` viewers, round-robin over ``urls``, noting each update."""
    import gevent
    import socketio

    lags: list[float] = []
    seen: set[tuple[int, str, str]] = set()
    messages = [0]
    clients = []

    def connect(i: int) -> None:
        client = socketio.Client(reconnection=False)

        def on_positions(data: dict) -> None:
            now = time.time()
            messages[0] += 1
            for t in data["trucks"]:
                key = (i, t["id"], t["fix_time"])
                if key not in seen:
                    seen.add(key)
                    lags.append(now - datetime.fromisoformat(t["fix_time"]).timestamp())

        client.on("positions", on_positions, namespace="/live")
        client.connect(
            urls[i % len(urls)], namespaces=["/live"], transports=["websocket"], wait_timeout=30
        )
        clients.append(client)

    jobs = [gevent.spawn(connect, i) for i in range(wanted)]
    gevent.joinall(jobs, timeout=120)
    print("ready", flush=True)
    start = len(lags)
    gevent.sleep(seconds)
    for c in clients:
        c.disconnect()
    fresh = sorted(lags[start:])

    def pct(q: float) -> float:
        return 1000.0 * fresh[min(len(fresh) - 1, int(q * len(fresh)))] if fresh else float("nan")

    out.write_text(
        json.dumps(
            {
                "connected": len(clients),
                "updates": len(fresh),
                "messages": messages[0],
                "lag_p50_ms": pct(0.5),
                "lag_p99_ms": pct(0.99),
            }
        )
    )


def measure(n: int, url: str, args: argparse.Namespace, folder: Path) -> Result:
    from serverproc import FleetServer

    ids = reset(url)
    channel = f"bench-scale-{uuid.uuid4().hex[:8]}"
    env = {
        **ENV,
        "FLEET_MESSAGE_QUEUE": "redis://127.0.0.1:6379/0",
        "FLEET_MESSAGE_CHANNEL": channel,
    }
    servers = [FleetServer(url, folder / f"server{n}-{i}.log", env=env) for i in range(n)]
    nginx = None
    try:
        for server in servers:
            server.start()
        nginx, front = start_nginx(folder, [s.port for s in servers])
        pids = [s.proc.pid for s in servers if s.proc is not None]
        row, durable, cores, _ = ingest(url, front, ids, folder, args, pids)
        ids = reset(url)
        fan = fan_out(front, [s.url for s in servers], ids, args, folder, pids)
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(10)
        for server in servers:
            server.terminate()
    ok_per_s = max(0.0, row.requests_per_s - row.errors / args.seconds)
    return Result(
        n,
        ok_per_s,
        durable,
        row.errors,
        row.p99_ms,
        cores,
        int(fan["connected"]),
        fan["messages_per_s"],
        fan["updates_per_s"],
        fan["cores"],
        fan["delivered_pct"],
        fan["lag_p50_ms"],
        fan["lag_p99_ms"],
    )


COLUMNS: tuple[tuple[str, str], ...] = (
    ("procs", "{r.processes}"),
    ("ok/s", "{r.requests_per_s:.0f}"),
    ("x base", "{x_ingest:.2f}"),
    ("durable/s", "{r.durable_per_s:.0f}"),
    ("err", "{r.errors}"),
    ("p99 ms", "{p99}"),
    ("srv cores", "{r.server_cores:.2f}"),
    ("| viewers", "{r.viewers}"),
    ("msg/s", "{r.messages_per_s:.0f}"),
    ("upd/s", "{r.updates_per_s:.0f}"),
    ("x base", "{x_fan:.2f}"),
    ("srv cores", "{r.fan_cores:.2f}"),
    ("deliv %", "{r.delivered_pct:.1f}"),
    ("lag p50", "{r.lag_p50_ms:.0f}"),
    ("lag p99", "{r.lag_p99_ms:.0f}"),
)


def table(results: list[Result]) -> str:
    """One row per process count; ``x base`` is against the first (1-process) row."""
    base = results[0]
    widths = [max(9, len(name)) for name, _ in COLUMNS]
    lines = [" ".join(f"{name:>{w}}" for (name, _), w in zip(COLUMNS, widths, strict=True))]
    for r in results:
        values = {
            "r": r,
            "p99": "-" if r.p99_ms is None else f"{r.p99_ms:.0f}",
            "x_ingest": r.requests_per_s / base.requests_per_s if base.requests_per_s else 0.0,
            "x_fan": r.updates_per_s / base.updates_per_s if base.updates_per_s else 0.0,
        }
        cells = [fmt.format(**values) for _, fmt in COLUMNS]
        lines.append(" ".join(f"{c:>{w}}" for c, w in zip(cells, widths, strict=True)))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--viewers", type=int, default=400)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    from serverproc import postgres_database

    url = postgres_database(DATABASE)
    folder = Path(tempfile.mkdtemp(prefix="bench_scale-"))
    load = os.getloadavg()[0]
    results = []
    for n in (int(x) for x in args.processes.split(",")):
        results.append(measure(n, url, args, folder))
        print(f"measured {n} process(es)", file=sys.stderr, flush=True)
    print(
        f"{os.cpu_count()} cores, load average {load:.1f} at start;"
        f" ingestion {args.seconds} s of wrk -c{args.connections} via nginx;"
        f" fan-out {args.seconds} s, {TRUCKS} trucks at 1 fix/s"
    )
    print(table(results))


if __name__ == "__main__":
    if "--viewers-child" in sys.argv:
        i = sys.argv.index("--viewers-child")
        urls, wanted, seconds, out = sys.argv[i + 1 : i + 5]
        viewers_child(urls.split(","), int(wanted), float(seconds), Path(out))
    else:
        main()
