"""What goes out over Socket.IO, and to whom, batched per interval.

Ingestion only records what changed; a flusher sends it at most once per interval, so
the cost of a ping never grows with the number of watching clients. Payloads are built
here and nowhere else, which keeps device identifiers out of every public message.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fleet.models import TruckState
from fleet.reference_cache import Reference

__all__ = [
    "BinUpdate",
    "Broadcaster",
    "LivePosition",
    "live_position",
    "position_payload",
    "truck_status",
]

log = logging.getLogger(__name__)

Emit = Callable[[str, dict[str, Any], str], None]

#: The least time between two broadcasts of one truck's position.
TRUCK_GAP_S = 0.9


@dataclass(frozen=True, slots=True)
class LivePosition:
    """A truck's newest fix as the public may see it."""

    truck_id: str
    route_id: str | None
    lat: float
    lon: float
    heading_deg: float | None
    speed_mps: float | None
    progress_m: float | None
    status: str
    fix_time: datetime
    public: bool


@dataclass(frozen=True, slots=True)
class BinUpdate:
    bin_id: str
    last_serviced_at: datetime
    service_class: str


def position_payload(position: LivePosition) -> dict[str, Any]:
    """The public shape of a truck: fleet code and route, never the device."""
    speed = position.speed_mps
    return {
        "id": position.truck_id,
        "route_id": position.route_id,
        "lat": round(position.lat, 6),
        "lon": round(position.lon, 6),
        "heading": None if position.heading_deg is None else round(position.heading_deg, 1),
        "speed_kmh": None if speed is None else round(speed * 3.6, 1),
        "progress_m": None if position.progress_m is None else round(position.progress_m, 1),
        "status": position.status,
        "fix_time": position.fix_time.isoformat(),
    }


class Broadcaster:
    """Collects changes between flushes; ``flush`` sends one message per event kind."""

    def __init__(
        self,
        emit: Emit,
        truck_gap_s: float = TRUCK_GAP_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._emit = emit
        self._truck_gap_s = truck_gap_s
        self._clock = clock
        self._last_sent: dict[str, float] = {}
        self._lock = threading.Lock()
        self._positions: dict[str, LivePosition] = {}
        self._bins: dict[str, BinUpdate] = {}
        self._alerts: list[dict[str, Any]] = []
        self._coverage_routes: set[str] = set()
        self.coverage_rows: Callable[[set[str]], list[dict[str, Any]]] | None = None

    def positions(self, positions: list[LivePosition]) -> None:
        with self._lock:
            for position in positions:
                self._positions[position.truck_id] = position

    def bins(self, updates: list[BinUpdate]) -> None:
        with self._lock:
            for update in updates:
                self._bins[update.bin_id] = update

    def alert(self, alert: dict[str, Any]) -> None:
        with self._lock:
            self._alerts.append(alert)

    def coverage(self, route_ids: set[str]) -> None:
        with self._lock:
            self._coverage_routes |= route_ids

    def flush(self) -> int:
        """Send what changed since the last flush; returns the number of messages sent."""
        with self._lock:
            positions = self._due_positions()
            bins, self._bins = list(self._bins.values()), {}
            alerts, self._alerts = self._alerts, []
            routes, self._coverage_routes = self._coverage_routes, set()
        sent = 0
        public = [position_payload(p) for p in positions if p.public]
        if public:
            sent += self._send("positions", {"trucks": public}, "/live")
        if positions:
            every = [position_payload(p) for p in positions]
            sent += self._send("positions", {"trucks": every}, "/dispatch")
        if bins:
            sent += self._send("bins", {"bins": [_bin_payload(b) for b in bins]}, "/live")
        for alert in alerts:
            sent += self._send("alert", alert, "/dispatch")
        if routes:
            progress = {p.route_id: p.progress_m for p in positions if p.public}
            hint = [
                {"route_id": r, "progress_m": progress[r]} for r in sorted(routes & progress.keys())
            ]
            if hint:
                sent += self._send("driven", {"routes": hint}, "/live")
        rows = self._coverage_rows(routes)
        if rows is not None:
            sent += self._send("coverage", {"routes": rows}, "/dispatch")
        return sent

    def _coverage_rows(self, routes: set[str]) -> list[dict[str, Any]] | None:
        """The dashboard rows of ``routes``; None if there are none or the database is
        away, since an exception here would end the flusher and freeze every live map."""
        if not routes or self.coverage_rows is None:
            return None
        try:
            return self.coverage_rows(routes)
        except Exception:
            log.exception("could not build coverage rows of %s", sorted(routes))
            return None

    def _due_positions(self) -> list[LivePosition]:
        """Positions of trucks not sent within the last ``truck_gap_s``; the others wait,
        so however short the flush interval, each truck moves at most once a second."""
        now = self._clock()
        due = []
        for truck_id, position in list(self._positions.items()):
            if now - self._last_sent.get(truck_id, -1e9) >= self._truck_gap_s:
                due.append(position)
                self._last_sent[truck_id] = now
                del self._positions[truck_id]
        return due

    def _send(self, event: str, data: dict[str, Any], namespace: str) -> int:
        try:
            self._emit(event, data, namespace)
        except Exception:  # a broken queue must never stop the flusher or lose ingestion
            log.exception("could not emit %s to %s", event, namespace)
            return 0
        return 1


def _bin_payload(update: BinUpdate) -> dict[str, Any]:
    return {
        "bin_id": update.bin_id,
        "last_serviced_at": update.last_serviced_at.isoformat(),
        "service_class": update.service_class,
    }


def truck_status(state: TruckState, now: datetime, online_s: float, offline_s: float) -> str:
    """on_route / off_route while fixes are fresh, then stale, then offline."""
    assert state.fix_time is not None
    age = now - state.fix_time
    if age > timedelta(seconds=offline_s):
        return "offline"
    if age > timedelta(seconds=online_s):
        return "stale"
    return "off_route" if state.on_route is False else "on_route"


def live_position(state: TruckState, reference: Reference, now: datetime) -> LivePosition | None:
    if state.fix_time is None or state.lat is None or state.lon is None:
        return None
    config = reference.config
    return LivePosition(
        truck_id=state.truck_id,
        route_id=state.route_id,
        lat=state.lat,
        lon=state.lon,
        heading_deg=state.heading_deg,
        speed_mps=state.speed_mps,
        progress_m=state.progress_m,
        status=truck_status(state, now, config["ONLINE_S"], config["OFFLINE_S"]),
        fix_time=state.fix_time,
        public=reference.on_shift(state.route_id, now),
    )
