"""Live-map load: delivery latency from ping acceptance to receipt by N Socket.IO viewers.

50 simulated trucks post one OsmAnd fix per second each (staggered over the second) to
a real ``fleet serve``; N viewers join ``/live`` through asyncio websocket clients
spread over load-generator processes. Latency runs from the moment the poster got its
HTTP 200 to the moment a viewer had read a ``positions`` message holding that truck at
that fix time (one monotonic clock, one machine). It is split into the wait before
the message went out (ack -> first viewer's receipt, mostly the flush interval) and
the fan-out (first viewer's receipt -> each viewer's receipt, the same bytes).

The CPU columns say who saturated: the server is one gevent process (one core at
most); a generator near 100 % or a large generator loop lag means the figures of that
run measure the clients, not the server.

    .venv/bin/python simulations/bench_live.py [--clients 100,1000,3000] \\
        [--intervals 1,0.1] [--seconds 20] [--generators 2] [--nice -5]

On a machine shared with other work, ``--nice -5`` (root) gives the measured processes
the share of CPU a dedicated machine would; the runq column shows what was left.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "simulations"))

HOST = "127.0.0.1"
TRUCKS = 50
NO_LIMIT = {"FLEET_DEVICE_RATE": "1000000", "FLEET_DEVICE_BURST": "1000000"}


# --- trucks posting ---------------------------------------------------------------


def truck_paths(seconds: int) -> dict[str, list[tuple[float, float, float]]]:
    """Per truck, (lat, lon, speed_mps) one second apart along its simulated day."""
    from fleet.simrun import load_reference
    from fleet.simulator import simulate_truck

    routes, bins, sites = load_reference(ROOT / "routes_data")
    day = date.today() - timedelta(days=1)
    out = {}
    for route in sorted(routes, key=lambda r: r.truck_id)[:TRUCKS]:
        fixes = list(simulate_truck(route, bins, sites, day=day, seed=5))[300 : 300 + seconds]
        out[route.truck_id] = [(f.lat, f.lon, f.speed_mps) for f in fixes]
    return out


def post_fixes(
    base_url: str, devices: dict[str, str], paths: dict[str, list[tuple[float, float, float]]]
) -> tuple[dict[tuple[str, int], float], list[float]]:
    """Each truck posts 1 fix/s, staggered over the second: (truck, fix) -> ack time, RTTs."""
    import requests

    acks: dict[tuple[str, int], float] = {}
    rtts: list[float] = []
    epoch0 = int(time.time()) - 1
    start = time.monotonic() + 0.2

    def truck(slot: int, truck_id: str) -> None:
        with requests.Session() as session:
            for n, (lat, lon, speed) in enumerate(paths[truck_id]):
                time.sleep(max(0.0, start + n + slot / TRUCKS - time.monotonic()))
                params = {"id": devices[truck_id], "timestamp": epoch0 + n, "lat": lat}
                params |= {"lon": lon, "speed": round(speed * 1.9438, 2)}
                sent = time.monotonic()
                answer = session.post(f"{base_url}/osmand", params=params, timeout=10)
                if answer.status_code == 200:
                    acks[(truck_id, epoch0 + n)] = time.monotonic()
                    rtts.append(acks[(truck_id, epoch0 + n)] - sent)

    threads = [threading.Thread(target=truck, args=(i, t)) for i, t in enumerate(sorted(devices))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return acks, rtts


# --- one run ----------------------------------------------------------------------


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def prioritise(pid: int, nice: int) -> None:
    """Nice a process and its autogroup: with autogroups (one per session) the kernel
    shares CPU between sessions first, so a plain nice value would change nothing."""
    if nice:
        os.setpriority(os.PRIO_PROCESS, pid, nice)
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))


def idle_share(seconds: float = 2.0) -> float:
    """Share of the machine's CPU time that was idle over the next ``seconds``."""

    def sample() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return values[3] + values[4], sum(values)

    idle0, total0 = sample()
    time.sleep(seconds)
    idle1, total1 = sample()
    return (idle1 - idle0) / max(1, total1 - total0)


def wait_for_quiet(min_idle: float, timeout_s: float) -> None:
    """Other work on a shared machine steals the server's core: start when it is quiet."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and idle_share() < min_idle:
        pass


def runq_s(pid: int) -> float:
    """Seconds the process's main thread waited for a CPU that other processes held."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9


def start_generators(port: int, clients: int, count: int, folder: Path) -> list[tuple]:
    gens = []
    for g in range(count):
        share = clients // count + (1 if g < clients % count else 0)
        out = folder / f"gen{g}.pickle"
        args = [sys.executable, __file__, "--generator", str(port), str(share), str(out)]
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        gens.append((proc, out))
    return gens


def wait_ready(gens: list[tuple]) -> int:
    """Clients that joined, over all generators (each prints ``ready OK FAILED``)."""
    joined = 0
    for proc, _ in gens:
        line = proc.stdout.readline().split()
        if not line or line[0] != "ready":
            raise RuntimeError("a load generator died before its clients joined")
        joined += int(line[1])
    return joined


def stop_generators(gens: list[tuple]) -> list[dict]:
    for proc, _ in gens:
        proc.stdin.write("stop\n")
        proc.stdin.flush()
    results = []
    for proc, out in gens:
        proc.wait(60)
        results.append(pickle.loads(out.read_bytes()))
    return results


@dataclass(frozen=True)
class Row:
    clients: int
    interval_s: float
    joined: int
    messages_per_client_s: float
    delivered: int
    expected: int
    coalesced: int
    latency_ms: tuple[float, float]
    wait_ms: tuple[float, float]
    fanout_ms: tuple[float, float]
    server_cpu: float
    server_runq: float
    generator_cpu: tuple[float, ...]
    lag_p99_ms: float
    ack_p99_ms: float
    load: float


def pct(values: np.ndarray) -> tuple[float, float]:
    if values.size == 0:
        return (math.nan, math.nan)
    p50, p99 = np.percentile(values, [50, 99])
    return (float(p50) * 1000, float(p99) * 1000)


def analyse(acks: dict[tuple[str, int], float], gens: list[dict]) -> dict:
    """Latencies over every (viewer, posted fix) pair, split into wait and fan-out."""
    receipts: dict[tuple, list[np.ndarray]] = {}
    for gen in gens:
        which, at = np.asarray(gen["which"], dtype=int), np.asarray(gen["at"])
        for slot, keys in enumerate(gen["messages"]):
            receipts.setdefault(tuple(keys), []).append(at[which == slot])
    latency, wait, fanout, delivered, sent = [], [], [], 0, set()
    for keys, parts in receipts.items():
        sent |= set(keys)
        times = np.concatenate(parts)
        acked = np.array([acks[k] for k in keys if k in acks])
        if acked.size == 0 or times.size == 0:
            continue
        delivered += acked.size * times.size
        latency.append((times[:, None] - acked[None, :]).ravel())
        wait.append(times.min() - acked)
        fanout.append(times - times.min())
    joined = [np.concatenate(x) if x else np.empty(0) for x in (latency, wait, fanout)]
    coalesced = sum(k not in sent for k in acks)
    return {
        "latency": joined[0],
        "wait": joined[1],
        "fanout": joined[2],
        "delivered": delivered,
        "sent": len(acks) - coalesced,
        "coalesced": coalesced,
    }


def run_once(
    template: Path,
    devices: dict[str, str],
    paths: dict,
    clients: int,
    interval_s: float,
    args: argparse.Namespace,
    folder: Path,
) -> Row:
    import shutil

    from serverproc import FleetServer

    wait_for_quiet(args.min_idle, args.quiet_wait_s)
    db = folder / f"run-{clients}-{interval_s}.sqlite3"
    shutil.copy(template, db)
    env = {
        **NO_LIMIT,
        "FLEET_HIDE_OFF_SHIFT": "false",
        "FLEET_BROADCAST_INTERVAL_S": str(interval_s),
        **dict(e.split("=", 1) for e in args.env),
    }
    with FleetServer(
        f"sqlite:///{db}", folder / f"server-{clients}-{interval_s}.log", env=env
    ) as server:
        pid = server.proc.pid
        prioritise(pid, args.nice)
        gens = start_generators(
            server.port, clients, min(args.generators, math.ceil(clients / 500)), folder
        )
        joined = wait_ready(gens)
        time.sleep(1.0)
        server0, runq0, gen0 = cpu_s(pid), runq_s(pid), [cpu_s(p.pid) for p, _ in gens]
        began = time.monotonic()
        acks, rtts = post_fixes(server.url, devices, paths)
        time.sleep(max(1.5, 2 * interval_s))
        wall = time.monotonic() - began
        server_cpu = (cpu_s(pid) - server0) / wall
        server_runq = (runq_s(pid) - runq0) / wall
        gen_cpu = tuple((cpu_s(p.pid) - c) / wall for (p, _), c in zip(gens, gen0, strict=True))
        results = stop_generators(gens)
    stats = analyse(acks, results)
    (folder / f"raw-{clients}-{interval_s}.pickle").write_bytes(pickle.dumps((acks, results)))
    lags = np.concatenate([np.asarray(r["lags"]) for r in results])
    received = sum(len(r["at"]) for r in results)
    return Row(
        clients,
        interval_s,
        joined,
        received / max(joined, 1) / wall,
        stats["delivered"],
        joined * stats["sent"],
        stats["coalesced"],
        pct(stats["latency"]),
        pct(stats["wait"]),
        pct(stats["fanout"]),
        server_cpu,
        server_runq,
        gen_cpu,
        float(np.percentile(lags, 99)) * 1000 if lags.size else math.nan,
        pct(np.asarray(rtts))[1],
        os.getloadavg()[0],
    )


COLUMNS = (
    ("clients", 8), ("flush s", 8), ("joined", 7), ("msg/cl/s", 9), ("delivered", 19),
    ("merged", 7), ("p50 ms", 7), ("p99 ms", 7), ("wait p50/p99", 13), ("fan-out p50/p99", 16),
    ("srv CPU", 8), ("runq", 5), ("gen CPU", 10), ("lag p99", 8), ("ack p99", 8), ("load", 5),
)  # fmt: skip


def cells(r: Row) -> list[str]:
    share = r.delivered / r.expected if r.expected else 0.0
    return [
        f"{r.clients:,}", f"{r.interval_s:g}", f"{r.joined:,}", f"{r.messages_per_client_s:.1f}",
        f"{r.delivered:,} {share:.1%}", str(r.coalesced),
        f"{r.latency_ms[0]:.0f}", f"{r.latency_ms[1]:.0f}",
        f"{r.wait_ms[0]:.0f}/{r.wait_ms[1]:.0f}", f"{r.fanout_ms[0]:.0f}/{r.fanout_ms[1]:.0f}",
        f"{r.server_cpu:.0%}", f"{r.server_runq:.0%}",
        "+".join(f"{c:.0%}" for c in r.generator_cpu),
        f"{r.lag_p99_ms:.0f}", f"{r.ack_p99_ms:.0f}", f"{r.load:.1f}",
    ]  # fmt: skip


def table(rows: list[Row]) -> str:
    """Latency columns in ms: ack -> each viewer (p50, p99), ack -> first viewer (wait),
    first viewer -> each viewer (fan-out). merged: fixes replaced by a newer one of the
    same truck before a flush. runq: share of time the server waited for a CPU that
    another process held. lag p99: generator event-loop lag. ack p99: HTTP round trip."""
    line = "".join(f"{name:>{width}}" for name, width in COLUMNS)
    out = [line, "-" * len(line)]
    for r in rows:
        out.append("".join(f"{c:>{w}}" for c, (_, w) in zip(cells(r), COLUMNS, strict=True)))
    return "\n".join(out)


def prepare(folder: Path) -> tuple[Path, dict[str, str]]:
    from serverproc import add_devices, sqlite_database

    template = folder / "template.sqlite3"
    url = sqlite_database(template)
    devices = add_devices(url, [f"KP-{i:02d}" for i in range(1, TRUCKS + 1)])
    return template, devices


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--generator":
        from _viewers import run_viewers

        asyncio.run(run_viewers(HOST, int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="100,1000,3000")
    parser.add_argument("--intervals", default="1,0.1")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--generators", type=int, default=2)
    parser.add_argument("--min-idle", type=float, default=0.8, help="idle CPU share to start")
    parser.add_argument("--quiet-wait-s", type=float, default=20.0)
    parser.add_argument(
        "--nice", type=int, default=0, help="priority of the server, viewers and trucks (<0: root)"
    )
    parser.add_argument("--env", action="append", default=[], help="NAME=value for fleet serve")
    args = parser.parse_args()
    prioritise(os.getpid(), args.nice)
    folder = Path(tempfile.mkdtemp(prefix="bench_live_"))
    print(f"logs and raw receipts in {folder}", flush=True)
    template, devices = prepare(folder)
    paths = truck_paths(args.seconds)
    devices = {t: d for t, d in devices.items() if t in paths}
    rows = []
    for clients in (int(c) for c in args.clients.split(",")):
        for interval_s in (float(i) for i in args.intervals.split(",")):
            rows.append(run_once(template, devices, paths, clients, interval_s, args, folder))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    print(table.__doc__)
    print(table(rows))


if __name__ == "__main__":
    main()
