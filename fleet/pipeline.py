"""The path of a ping: validate -> snap -> store -> coverage -> broadcast.

``process`` runs inside the caller's write transaction, holding the truck's state row,
so the HTTP layer acknowledges only after everything here has committed. Broadcasting
happens after the commit, from the returned ``IngestResult``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from fleet.broadcast import BinUpdate, LivePosition
from fleet.fix import Fix
from fleet.models import TruckState
from fleet.reference_cache import Reference
from fleet.store import devices as device_store
from fleet.store import pings as ping_store
from fleet.store.alerts import alert_json, raise_alert
from fleet.store.devices import DeviceRef
from fleet.tracking import SnappedFix, record_progress, snap_fixes, with_previous
from fleet.trips import record_trips
from fleet.visits import record_visits

__all__ = ["IngestResult", "process", "heartbeat"]


@dataclass(frozen=True)
class IngestResult:
    stored: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    position: LivePosition | None = None
    bins: list[BinUpdate] = field(default_factory=list)
    route_ids: set[str] = field(default_factory=set)
    alerts: list[dict[str, Any]] = field(default_factory=list)


def process(
    session: Session,
    reference: Reference,
    device: DeviceRef,
    fixes: Sequence[tuple[int, Fix]],
    received_at: datetime,
) -> IngestResult:
    """Store the fixes not seen before, snapped and counted; report what changed."""
    state = ping_store.lock_state(session, device.truck_id)
    seen = ping_store.existing_fix_times(session, device.id, [f.time for _, f in fixes])
    fresh = sorted((item for item in fixes if item[1].time not in seen), key=lambda i: i[1].time)
    duplicates = [index for index, fix in fixes if fix.time in seen]
    device_store.touch(session, device.id, received_at, fresh[-1][1].time if fresh else None)
    if not fresh:
        return IngestResult(duplicates=duplicates)
    snapped = snap_fixes(session, reference, state, [fix for _, fix in fresh])
    before = ping_store.ping_before(session, device.truck_id, snapped[0].fix.time)
    ping_store.insert_pings(session, [_ping_row(device, s, received_at) for s in snapped])
    track = with_previous(before, snapped)
    bins = record_visits(session, reference, device.truck_id, track, received_at)
    record_progress(session, reference, device.truck_id, track, received_at)
    record_trips(session, reference, state, snapped)
    was_on_route = state.on_route
    position = _advance_state(state, reference, snapped[-1], received_at)
    alerts = _off_route_alert(session, state, was_on_route, position, received_at)
    return IngestResult(
        stored=[index for index, _ in fresh],
        duplicates=duplicates,
        position=position,
        bins=bins,
        route_ids={s.route_id for s in snapped if s.route_id},
        alerts=alerts,
    )


def _off_route_alert(
    session: Session,
    state: TruckState,
    was_on_route: bool | None,
    position: LivePosition | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """A truck that has just left its route (after the matcher's hysteresis)."""
    if position is None or was_on_route is not True or position.status != "off_route":
        return []
    stamp = position.fix_time.isoformat()
    alert = raise_alert(
        session,
        "off_route",
        f"{state.truck_id} left route {position.route_id} at {stamp}",
        f"off_route:{state.truck_id}:{stamp}",
        now,
        state.truck_id,
        position.route_id,
    )
    return [] if alert is None else [alert_json(alert)]


def heartbeat(session: Session, device: DeviceRef, received_at: datetime) -> None:
    """Contact without a position: the device is alive, nothing is stored."""
    device_store.touch(session, device.id, received_at, None)


def _ping_row(device: DeviceRef, s: SnappedFix, received_at: datetime) -> dict[str, Any]:
    fix = s.fix
    return {
        "device_id": device.id,
        "truck_id": device.truck_id,
        "fix_time": fix.time,
        "received_at": received_at,
        "lat": fix.lat,
        "lon": fix.lon,
        "speed_mps": fix.speed_mps,
        "heading_deg": fix.heading_deg,
        "accuracy_m": fix.accuracy_m,
        "altitude_m": fix.altitude_m,
        "battery_pct": fix.battery_pct,
        "attributes": fix.attributes or None,
        "route_id": s.route_id,
        "progress_m": s.progress_m,
        "snap_lat": s.snap_lat,
        "snap_lon": s.snap_lon,
        "offset_m": s.offset_m,
        "on_route": s.on_route,
        "confidence": s.confidence,
    }


def _advance_state(
    state: TruckState, reference: Reference, newest: SnappedFix, received_at: datetime
) -> LivePosition | None:
    """Move the live position only forward in fix time: a late fix never rewinds it."""
    fix = newest.fix
    if state.fix_time is not None and fix.time <= state.fix_time:
        return None
    moving = (fix.speed_mps or 0.0) > 1.0
    if moving or state.last_moved_at is None:
        state.last_moved_at = fix.time
    state.route_id = newest.route_id
    state.fix_time = fix.time
    state.lat, state.lon = fix.lat, fix.lon
    state.heading_deg, state.speed_mps = fix.heading_deg, fix.speed_mps
    state.progress_m, state.on_route = newest.progress_m, newest.on_route
    state.matcher = newest.matcher_state
    state.updated_at = received_at
    return LivePosition(
        truck_id=state.truck_id,
        route_id=newest.route_id,
        lat=fix.lat,
        lon=fix.lon,
        heading_deg=fix.heading_deg,
        speed_mps=fix.speed_mps,
        progress_m=newest.progress_m,
        status="off_route" if newest.on_route is False else "on_route",
        fix_time=fix.time,
        public=reference.on_shift(newest.route_id, fix.time),
    )
