"""Driven stretches per route, truck and WITA day (the ``route_days`` rows)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fleet.models import RouteDay
from fleet.progress import add_stretch, driven_m

__all__ = ["add_stretches", "driven_on"]


def add_stretches(
    session: Session,
    route_id: str,
    truck_id: str,
    stretches: Sequence[tuple[date, float, float]],
    now: datetime,
) -> None:
    """Merge (day, from_m, to_m) stretches into that day's row, creating it if needed."""
    for day in sorted({d for d, _, _ in stretches}):
        row = session.scalars(
            select(RouteDay).where(
                RouteDay.route_id == route_id,
                RouteDay.truck_id == truck_id,
                RouteDay.service_date == day,
            )
        ).first()
        intervals: list[list[float]] = [] if row is None else list(row.driven)
        for d, a, b in stretches:
            if d == day:
                intervals = add_stretch(intervals, a, b)
        if row is None:
            row = RouteDay(route_id=route_id, truck_id=truck_id, service_date=day)
            session.add(row)
        row.driven = [[round(a, 1), round(b, 1)] for a, b in intervals]
        row.driven_m = driven_m(row.driven)
        row.updated_at = now


def driven_on(session: Session, day: date) -> list[RouteDay]:
    return list(session.scalars(select(RouteDay).where(RouteDay.service_date == day)))
