"""Read queries behind the public API: live trucks and last service per bin."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fleet.models import BinSite, BinVisit, Ping, TruckState

__all__ = ["day_bounds", "last_service", "live_states", "passed_at", "recent_speed"]


def live_states(session: Session) -> list[TruckState]:
    stmt = select(TruckState).where(TruckState.fix_time.is_not(None)).order_by(TruckState.truck_id)
    return list(session.scalars(stmt))


def last_service(session: Session) -> dict[str, datetime]:
    """Each bin's most recent serviced visit (the map colours bins by its age).

    One index seek per bin (``ix_bin_visits_last``) rather than a pass over every
    visit ever recorded, which grew with the history."""
    latest = (
        select(func.max(BinVisit.last_time))
        .where(BinVisit.bin_id == BinSite.id, BinVisit.status == "serviced")
        .scalar_subquery()
    )
    stmt = select(BinSite.id, latest)
    return {bin_id: t for bin_id, t in session.execute(stmt) if t is not None}


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """A WITA calendar day as an aware [start, end) pair."""
    start = datetime.combine(day, time(0), tz)
    return start, start + timedelta(days=1)


def passed_at(
    session: Session, truck_id: str, day: date, tz: ZoneInfo, progress_m: float
) -> datetime | None:
    """When the truck first came by ``progress_m`` on ``day`` (on route, within 30 m)."""
    start, end = day_bounds(day, tz)
    stmt = select(func.min(Ping.fix_time)).where(
        Ping.truck_id == truck_id,
        Ping.fix_time >= start,
        Ping.fix_time < end,
        Ping.on_route.is_(True),
        Ping.progress_m.between(progress_m - 30.0, progress_m + 30.0),
    )
    return session.scalar(stmt)


def recent_speed(
    session: Session, truck_id: str, now: datetime, window: timedelta = timedelta(minutes=10)
) -> float | None:
    """Average progress along the route over the last minutes, stops included."""
    stmt = (
        select(Ping.fix_time, Ping.progress_m)
        .where(
            Ping.truck_id == truck_id,
            Ping.fix_time >= now - window,
            Ping.on_route.is_(True),
            Ping.progress_m.is_not(None),
        )
        .order_by(Ping.fix_time)
    )
    rows = session.execute(stmt).all()
    if len(rows) < 2:
        return None
    (first_time, first_m), (last_time, last_m) = rows[0], rows[-1]
    dt_s = (last_time - first_time).total_seconds()
    if dt_s <= 0 or first_m is None or last_m is None:
        return None
    return max(0.0, (last_m - first_m) / dt_s)
