"""Drive a simulated day against a running server: trucks -> phones -> HTTP.

The entry point for ``fleet simulate``, ``fleet demo`` and ``simulations/run_day.py``.
One dispatcher thread releases fixes in time order, paced by the speedup; each phone
sends on a small shared thread pool, one task at a time per phone so its requests stay
in order. ``load_reference`` reads the GeoJSON reference data into the simulator's
plain values.
"""

from __future__ import annotations

import json
import logging
import math
import random
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from shapely.geometry import shape
from tqdm import tqdm

from fleet.devices import DeviceStats, Protocol, RetryPolicy, SimDevice
from fleet.fix import WITA
from fleet.scenarios import build_scenario
from fleet.simulator import (
    BinSpec,
    GpsConfig,
    RouteSpec,
    SimFix,
    SiteSpec,
    merge_traces,
    simulate_fleet,
)

__all__ = ["DEFAULT_MIX", "RunSummary", "assign_protocols", "load_reference", "run_simulation"]

log = logging.getLogger(__name__)

#: Share of phones per protocol, roughly what a mixed fleet of old and new apps looks like.
DEFAULT_MIX: dict[str, float] = {
    "osmand-query": 0.2,
    "osmand-form": 0.3,
    "osmand-json": 0.3,
    "generic-get": 0.1,
    "batch": 0.1,
}


@dataclass(frozen=True)
class RunSummary:
    """Per-device counts after a run, and the protocol each device spoke."""

    stats: Mapping[str, DeviceStats]
    protocols: Mapping[str, Protocol]
    fixes: int
    wall_s: float

    def by_protocol(self) -> dict[str, DeviceStats]:
        out: dict[str, DeviceStats] = {}
        for device_id, stats in self.stats.items():
            key = str(self.protocols[device_id])
            out[key] = out.get(key, DeviceStats()) + stats
        return dict(sorted(out.items()))

    def table(self) -> str:
        """A plain-text table: one row per protocol and a total."""
        cols = ("fixes", "sent", "acked", "duplicates", "dropped", "retried", "resent", "unsent")
        rows = list(self.by_protocol().items())
        rows.append(("total", sum((s for _, s in rows), DeviceStats())))
        lines = [f"{'protocol':<14}" + "".join(f"{c:>11}" for c in cols)]
        lines += [f"{n:<14}" + "".join(f"{getattr(s, c):>11}" for c in cols) for n, s in rows]
        return "\n".join(lines)


def run_simulation(
    base_url: str,
    routes: Sequence[RouteSpec],
    bins: Sequence[BinSpec],
    sites: Sequence[SiteSpec],
    *,
    scenario: str = "normal",
    speedup: float = 1.0,
    trucks: Iterable[str] | None = None,
    device_ids: Mapping[str, str] | None = None,
    protocol_mix: Mapping[str, float] | Mapping[str, str] | None = None,
    stop_event: threading.Event | None = None,
    progress: bool = True,
    seed: int = 0,
    day: date | None = None,
    mid_shift: bool = False,
    wall_timestamps: bool = False,
    gps: GpsConfig | None = None,
    retry: RetryPolicy | None = None,
    workers: int = 8,
) -> RunSummary:
    """Simulate a day and post every fix to ``base_url``; returns when all are sent.

    ``speedup`` <= 0 or infinite sends as fast as possible. ``mid_shift`` starts now
    with trucks spread along their routes (the demo); otherwise the day is ``day``,
    by default yesterday (WITA) so that no sped-up fix is stamped in the future.
    ``wall_timestamps`` stamps fixes with the scaled wall clock instead of simulated
    time, so a sped-up mid-shift demo never sends times in the future.
    ``protocol_mix`` is protocol -> share, or truck -> protocol; ``device_ids`` maps
    truck -> device id (default: the truck id).
    """
    stop = stop_event or threading.Event()
    chosen = set(trucks) if trucks is not None else None
    routes = [r for r in routes if chosen is None or r.truck_id in chosen]
    truck_ids = [r.truck_id for r in routes]
    plan = build_scenario(scenario, truck_ids, seed=seed)
    start = datetime.now(UTC).replace(microsecond=0) if mid_shift else None
    if day is None:
        today = datetime.now(WITA).date()
        day = today if mid_shift else today - timedelta(days=1)
    gps = gps or GpsConfig()
    traces = simulate_fleet(
        routes, bins, sites, day=day, seed=seed, gps=gps, edits=plan.edits, start=start
    )
    protocols = assign_protocols(truck_ids, protocol_mix or DEFAULT_MIX, seed=seed)
    ids = {t: (device_ids or {}).get(t, t) for t in truck_ids}
    devices = {
        t: SimDevice(
            base_url,
            ids[t],
            protocols[t],
            faults=plan.faults.get(t),
            retry=retry,
            stop_event=stop,
            seed=seed,
        )
        for t in truck_ids
    }
    total = sum(len(tr) for tr in traces)
    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="device") as pool:
        lanes = {t: _Lane(d, pool) for t, d in devices.items()}
        _dispatch(merge_traces(traces), lanes, speedup, stop, total, progress, wall_timestamps)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="close") as pool:
        list(pool.map(SimDevice.close, devices.values()))
    return RunSummary(
        stats={ids[t]: d.stats for t, d in devices.items()},
        protocols={ids[t]: protocols[t] for t in truck_ids},
        fixes=total,
        wall_s=time.monotonic() - began,
    )


def assign_protocols(
    truck_ids: Sequence[str], mix: Mapping[str, float] | Mapping[str, str], *, seed: int = 0
) -> dict[str, Protocol]:
    """Truck -> protocol: shares split by largest remainder, then shuffled by the seed."""
    if all(isinstance(v, str) for v in mix.values()) and set(mix) & set(truck_ids):
        return {t: Protocol(str(mix.get(t, "osmand-query"))) for t in truck_ids}
    shares = {Protocol(k): float(v) for k, v in mix.items()}
    weight = sum(shares.values()) or 1.0
    exact = {p: len(truck_ids) * w / weight for p, w in shares.items()}
    counts = {p: math.floor(x) for p, x in exact.items()}
    by_remainder = sorted(exact, key=lambda p: exact[p] - counts[p], reverse=True)
    for p in by_remainder[: len(truck_ids) - sum(counts.values())]:
        counts[p] += 1
    pool = [p for p, n in counts.items() for _ in range(n)]
    random.Random(f"protocols:{seed}").shuffle(pool)
    return dict(zip(sorted(truck_ids), pool, strict=True))


class _Lane:
    """Feeds one device from the pool, one task at a time, so its sends stay in order."""

    def __init__(self, device: SimDevice, pool: ThreadPoolExecutor) -> None:
        self._device = device
        self._pool = pool
        self._inbox: deque[SimFix] = deque()
        self._lock = threading.Lock()
        self._busy = False

    def offer(self, fix: SimFix) -> None:
        with self._lock:
            self._inbox.append(fix)
            if self._busy:
                return
            self._busy = True
        self._pool.submit(self._drain)

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._inbox:
                    self._busy = False
                    return
                fix = self._inbox.popleft()
            try:
                self._device.submit(fix)
            except Exception:
                log.exception("device %s failed on a fix", self._device.device_id)


def _dispatch(
    fixes: Iterable[SimFix],
    lanes: Mapping[str, _Lane],
    speedup: float,
    stop: threading.Event,
    total: int,
    progress: bool,
    wall_timestamps: bool,
) -> None:
    """Release each fix at its (scaled) time; the first fix sets both clocks' origin."""
    paced = 0 < speedup < math.inf
    sim0: datetime | None = None
    wall0, now0 = time.monotonic(), datetime.now(UTC)
    with tqdm(total=total, unit="fix", disable=not progress, mininterval=0.5) as bar:
        for fix in fixes:
            sim0 = sim0 or fix.t
            offset_s = (fix.t - sim0).total_seconds() / (speedup if paced else 1.0)
            if paced and stop.wait(max(0.0, wall0 + offset_s - time.monotonic())):
                return
            if stop.is_set():
                return
            if wall_timestamps:
                fix = replace(fix, t=now0 + timedelta(seconds=offset_s))
            lanes[fix.truck_id].offer(fix)
            bar.update(1)
            if bar.n % 500 == 0:
                bar.set_postfix_str(fix.t.astimezone(WITA).strftime("%H:%M WITA"), refresh=False)


def load_reference(
    directory: str | Path,
) -> tuple[list[RouteSpec], list[BinSpec], list[SiteSpec]]:
    """Routes, bins and sites from ``routes.geojson``, ``bins.geojson``, ``sites.geojson``."""
    folder = Path(directory)

    def features(name: str) -> list[dict[str, Any]]:
        return list(json.loads((folder / name).read_text())["features"])

    routes = [_route(f) for f in features("routes.geojson")]
    bins = [
        BinSpec(p["bin_id"], p["route_id"], float(p["progress_m"]), p["status"] == "installed")
        for p in (f["properties"] for f in features("bins.geojson"))
    ]
    sites = [_site(f) for f in features("sites.geojson")]
    return routes, bins, sites


def _route(feature: dict[str, Any]) -> RouteSpec:
    p = feature["properties"]
    return RouteSpec(
        route_id=p["route_id"],
        truck_id=p.get("truck_id") or p["route_id"],
        kecamatan=p.get("kecamatan", ""),
        line=shape(feature["geometry"]),
        shift_start=datetime.strptime(p["shift_start"], "%H:%M").time(),
        shift_end=datetime.strptime(p["shift_end"], "%H:%M").time(),
        collection_start_m=float(p.get("collection_start_m", 0.0)),
        collection_end_m=float(p.get("collection_end_m", p.get("length_m", 0.0))),
    )


def _site(feature: dict[str, Any]) -> SiteSpec:
    p = feature["properties"]
    geometry = shape(feature["geometry"])
    return SiteSpec(p["site_id"], p["kind"], p.get("name", ""), p.get("kecamatan", ""), geometry)
