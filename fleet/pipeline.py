"""The path of a ping: validate -> store -> snap -> coverage -> broadcast.

Two stages, so a device's fix is acknowledged as soon as it is durable:

- ``accept`` stores the validated raw fixes and queues them, in the request's
  transaction; the HTTP layer answers 200 after that commit.
- ``process`` takes one truck's queued pings, oldest fix first, snaps them onto the
  route, stores the results, counts bins, stretches and trips, moves the live state,
  and returns what changed for broadcasting after its own commit. The truck's state
  row is locked meanwhile, so processes never interleave one truck's fixes.

A crash between the stages loses nothing: the queue is committed with the pings.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from fleet.broadcast import BinUpdate, LivePosition, live_position
from fleet.fix import Fix
from fleet.models import TruckState
from fleet.prematch import Prematched, prematch
from fleet.reference_cache import Reference
from fleet.snap import TraceMatch
from fleet.store import pings as ping_store
from fleet.store.alerts import alert_json, raise_alert
from fleet.store.devices import DeviceRef
from fleet.tracking import SnappedFix, record_progress, snap_fixes, with_previous
from fleet.trips import record_trips
from fleet.visits import record_visits

__all__ = [
    "Accepted",
    "Arrival",
    "ProcessResult",
    "accept_many",
    "prematch_round",
    "process_round",
]

log = logging.getLogger(__name__)

#: Most queued pings of one truck processed in one transaction.
BATCH = 2000


@dataclass(frozen=True)
class Accepted:
    """A request's fixes by index in the request, and the newest fix time it stored."""

    stored: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    newest: datetime | None = None


@dataclass(frozen=True)
class ProcessResult:
    processed: int = 0
    position: LivePosition | None = None
    bins: list[BinUpdate] = field(default_factory=list)
    route_ids: set[str] = field(default_factory=set)
    alerts: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Arrival:
    """One request's validated fixes (index in the request, fix); none: a heartbeat."""

    device: DeviceRef
    fixes: Sequence[tuple[int, Fix]]
    received_at: datetime


def accept_many(session: Session, arrivals: list[Arrival]) -> list[Accepted]:
    """Store the fixes not seen before and queue them, for many requests in one or two
    statements; report each request's stored and duplicates. A fix sent by two
    requests of one group is stored once and reported stored to the first only."""
    rows = [_raw_row(a.device, fix, a.received_at) for a in arrivals for _, fix in a.fixes]
    stored = ping_store.insert_raw(session, rows)
    claimed: set[tuple[int, datetime]] = set()
    results = []
    for a in arrivals:
        mine = {
            (a.device.id, fix.time)
            for _, fix in a.fixes
            if (a.device.id, fix.time) in stored and (a.device.id, fix.time) not in claimed
        }
        claimed |= mine
        results.append(
            Accepted(
                stored=[i for i, fix in a.fixes if (a.device.id, fix.time) in mine],
                duplicates=[i for i, fix in a.fixes if (a.device.id, fix.time) not in mine],
                newest=max((t for _, t in mine), default=None),
            )
        )
    return results


def process_round(
    session: Session,
    reference: Reference,
    truck_ids: Sequence[str],
    now: datetime,
    *,
    isolate: bool = False,
    prematched: Prematched | None = None,
) -> list[ProcessResult]:
    """Snap and count the queued pings of ``truck_ids``; trucks another process holds
    are skipped. The states and the queue of all trucks are read in two statements.

    With ``isolate`` each truck runs in a savepoint, so one failing truck stays queued
    without holding back the others; without, a failure fails the whole round (the
    worker then runs it again isolated): savepoints cost two statements per truck.
    ``prematched``: live matches from ``prematch_round``, used where still current.
    """
    states = ping_store.lock_states(session, truck_ids, skip_locked=True)
    live: dict[str, TraceMatch] = {}
    if isolate:
        queued = ping_store.pending_for(session, list(states), BATCH)
    else:
        live, queued = _match_all(session, reference, states, prematched)
    results = []
    for truck_id, state in states.items():
        pending = queued.get(truck_id)
        if not pending:
            continue
        if not isolate:
            results.append(_process(session, reference, state, pending, now, live.get(truck_id)))
            continue
        try:
            with session.begin_nested():
                results.append(_process(session, reference, state, pending, now))
        except Exception:
            log.exception("processing truck %s failed; its pings stay queued", truck_id)
    return results


def prematch_round(session: Session, reference: Reference, truck_ids: Sequence[str]) -> Prematched:
    """Read only, no lock: match the round's live fixes before its write transaction."""
    states = ping_store.read_states(session, truck_ids)
    return prematch(reference, states, ping_store.pending_for(session, list(states), BATCH))


def _match_all(
    session: Session,
    reference: Reference,
    states: dict[str, TruckState],
    prematched: Prematched | None,
) -> tuple[dict[str, TraceMatch], dict[str, list[ping_store.Queued]]]:
    """The live fixes of every truck of the round, prematched or matched now together,
    with the pings to process. Where the prematch is still current only the queue's
    ids are read under the lock (a prematched truck's newer pings wait a round)."""
    live: dict[str, TraceMatch] = {}
    todo: dict[str, list[ping_store.Queued]] = {}
    rest = list(states)
    if prematched is not None:
        ids = ping_store.pending_ids(session, rest, BATCH)
        for truck_id in rest:
            taken = prematched.take(states[truck_id], ids.get(truck_id, []))
            if taken is not None:
                live[truck_id], covered = taken
                todo[truck_id] = list(covered)
        rest = [t for t in rest if t not in live and t in ids]
    fetched = ping_store.pending_for(session, rest, BATCH)
    todo.update(fetched)
    live.update(prematch(reference, {t: states[t] for t in fetched}, fetched).matches)
    return live, todo


def _process(
    session: Session,
    reference: Reference,
    state: TruckState,
    queued: Sequence[ping_store.Queued],
    now: datetime,
    live: TraceMatch | None = None,
) -> ProcessResult:
    """One truck's pings (oldest fix first) with its locked ``state``; ``live``: the
    match of its fixes newer than the state, when the round has done it already."""
    fixes = [q.fix for q in queued]
    before = ping_store.ping_before(session, state.truck_id, fixes[0].time)
    snapped = snap_fixes(session, reference, state, fixes, before, live)
    ping_store.save_snapped(
        session,
        [_snap_row(q, s) for q, s in zip(queued, snapped, strict=True)],
        [q.queue_id for q in queued],
    )
    track = with_previous(before, snapped)
    bins = record_visits(session, reference, state.truck_id, track, now)
    record_progress(session, reference, state.truck_id, track, now)
    left = _left_route(state, snapped)
    moved = state.fix_time is None or fixes[-1].time > state.fix_time
    record_trips(session, reference, state, snapped)
    position = _advance_state(state, reference, snapped, now)
    if moved:
        ping_store.save_state(session, state)
    return ProcessResult(
        processed=len(queued),
        position=position,
        bins=bins,
        route_ids={s.route_id for s in snapped if s.route_id},
        alerts=_off_route_alert(session, state, left, now),
    )


def _raw_row(device: DeviceRef, fix: Fix, received_at: datetime) -> dict[str, Any]:
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
    }


def _snap_row(q: ping_store.Queued, s: SnappedFix) -> dict[str, Any]:
    return {
        "ping_id": q.ping_id,
        "ping_time": q.fix.time,
        "route_id": s.route_id,
        "progress_m": s.progress_m,
        "snap_lat": s.snap_lat,
        "snap_lon": s.snap_lon,
        "offset_m": s.offset_m,
        "on_route": s.on_route,
        "confidence": s.confidence,
    }


def _left_route(state: TruckState, snapped: Sequence[SnappedFix]) -> SnappedFix | None:
    """The fix at which the truck left its route (after the matcher's hysteresis), if it
    ends these fixes off the route: one round may hold its return and its departure."""
    newer = [s for s in snapped if state.fix_time is None or s.fix.time > state.fix_time]
    on, left = state.on_route, None
    for s in sorted(newer, key=lambda s: s.fix.time):
        if on is True and s.on_route is False:
            left = s
        on = s.on_route if s.on_route is not None else on
    return left if on is False else None


def _off_route_alert(
    session: Session, state: TruckState, left: SnappedFix | None, now: datetime
) -> list[dict[str, Any]]:
    """A truck that has just left its route."""
    if left is None:
        return []
    stamp = left.fix.time.isoformat()
    alert = raise_alert(
        session,
        "off_route",
        f"{state.truck_id} left route {left.route_id} at {stamp}",
        f"off_route:{state.truck_id}:{stamp}",
        now,
        state.truck_id,
        left.route_id,
    )
    return [] if alert is None else [alert_json(alert)]


def _advance_state(
    state: TruckState, reference: Reference, snapped: Sequence[SnappedFix], now: datetime
) -> LivePosition | None:
    """Move the live position only forward in fix time: a late fix never rewinds it."""
    newest = max(snapped, key=lambda s: s.fix.time)
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
    state.updated_at = now
    return live_position(state, reference, now)
