"""Alerts that come from time passing, not from a ping: stale or offline devices, idle
trucks, and bins missed when a shift ends. Checked periodically by the server.

Each alert has a dedupe key naming the event (device and its last contact, route and
day, ...), so several processes checking at once still raise it once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fleet.models import Device, TruckState
from fleet.reference_cache import Reference
from fleet.status import device_status
from fleet.store.alerts import alert_json, raise_alert
from fleet.store.coverage import coverage_day

__all__ = ["check"]

#: Shift end is judged this long after the fact, so late fixes can still arrive.
MISSED_GRACE = timedelta(minutes=15)


def check(session: Session, reference: Reference, now: datetime) -> list[dict[str, Any]]:
    """Raise every alert now due; returns the new ones as JSON for the dashboard."""
    raised = _devices(session, reference, now) + _idle(session, reference, now)
    raised += _missed(session, reference, now)
    return [alert_json(a) for a in raised if a is not None]


def _on_shift(reference: Reference, truck_id: str, now: datetime) -> str | None:
    route = reference.route_for_truck(truck_id)
    if route is None or not route.shift.covers(now, reference.tz, timedelta(0)):
        return None
    return route.route_id


def _devices(session: Session, reference: Reference, now: datetime) -> list[Any]:
    config = reference.config
    out = []
    for d in session.scalars(select(Device).where(Device.enabled.is_(True))):
        route_id = _on_shift(reference, d.truck_id, now)
        if route_id is None:
            continue
        status = device_status(
            d.last_contact_at, d.last_fix_at, now, config["ONLINE_S"], config["OFFLINE_S"]
        )
        if status == "online":
            continue
        since = d.last_contact_at if status == "offline" else d.last_fix_at
        stamp = since.isoformat() if since else "never"
        what = "offline: no contact" if status == "offline" else "stale: contact but no fixes"
        out.append(
            raise_alert(
                session,
                status,
                f"{d.truck_id} device {what} since {stamp}",
                f"{status}:{d.id}:{stamp}",
                now,
                d.truck_id,
                route_id,
            )
        )
    return out


def _idle(session: Session, reference: Reference, now: datetime) -> list[Any]:
    limit = timedelta(seconds=reference.config["IDLE_S"])
    out = []
    for state in session.scalars(select(TruckState).where(TruckState.last_moved_at.is_not(None))):
        route_id = _on_shift(reference, state.truck_id, now)
        fresh = state.fix_time is not None and now - state.fix_time < limit
        assert state.last_moved_at is not None
        if route_id is None or not fresh or now - state.last_moved_at < limit:
            continue
        minutes = round((now - state.last_moved_at).total_seconds() / 60)
        out.append(
            raise_alert(
                session,
                "idle",
                f"{state.truck_id} has not moved for {minutes} min",
                f"idle:{state.truck_id}:{state.last_moved_at.isoformat()}",
                now,
                state.truck_id,
                route_id,
            )
        )
    return out


def _missed(session: Session, reference: Reference, now: datetime) -> list[Any]:
    today = now.astimezone(reference.tz).date()
    report = None
    out = []
    for route in reference.routes.values():
        if not route.shift.runs_on(today):
            continue
        _, end = route.shift.window(today, reference.tz)
        if not end + MISSED_GRACE <= now < end + timedelta(hours=12):
            continue
        report = report or coverage_day(session, reference, today, now).report
        counts = report.by_route.get(route.route_id)
        if counts is None or not counts.missed:
            continue
        out.append(
            raise_alert(
                session,
                "missed_bins",
                f"{route.route_id}: {counts.missed} of {counts.scheduled} bins missed today",
                f"missed:{route.route_id}:{today.isoformat()}",
                now,
                route.truck_id,
                route.route_id,
            )
        )
    return out
