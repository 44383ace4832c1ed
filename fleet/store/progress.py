"""Driven stretches per route, truck and WITA day (the ``route_days`` rows)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fleet.models import RouteDay
from fleet.progress import add_stretch, driven_m
from fleet.store.upsert import upsert

__all__ = ["add_stretches", "driven_on"]

_ROUTE_DAYS = RouteDay.__table__


def add_stretches(
    session: Session,
    route_id: str,
    truck_id: str,
    stretches: Sequence[tuple[date, float, float]],
    now: datetime,
) -> None:
    """Merge (day, from_m, to_m) stretches into that day's row, creating it if needed.

    One read and one upsert through Core, whatever the number of days: this runs for
    every truck in every processing round."""
    days = sorted({d for d, _, _ in stretches})
    t = _ROUTE_DAYS.c
    stmt = select(t.service_date, t.driven).where(
        t.route_id == route_id, t.truck_id == truck_id, t.service_date.in_(days)
    )
    stored = {day: driven for day, driven in session.execute(stmt)}
    rows = []
    for day in days:
        intervals: list[list[float]] = list(stored.get(day) or [])
        for d, a, b in stretches:
            if d == day:
                intervals = add_stretch(intervals, a, b)
        driven = [[round(a, 1), round(b, 1)] for a, b in intervals]
        rows.append(
            {
                "route_id": route_id,
                "truck_id": truck_id,
                "service_date": day,
                "driven": driven,
                "driven_m": driven_m(driven),
                "updated_at": now,
            }
        )
    upsert(session, RouteDay, rows, ["route_id", "truck_id", "service_date"])


def driven_on(session: Session, day: date) -> list[RouteDay]:
    return list(session.scalars(select(RouteDay).where(RouteDay.service_date == day)))
