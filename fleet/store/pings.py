"""Pings and the per-truck live state that serialises each truck's writers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fleet.models import Ping, TruckState
from fleet.store.upsert import insert_ignore

__all__ = ["lock_state", "existing_fix_times", "insert_pings", "ping_before", "track"]


def lock_state(session: Session, truck_id: str) -> TruckState:
    """The truck's state row, locked until commit, so concurrent requests (on any process)
    for one truck apply one after the other and no matching state is lost."""
    insert_ignore(session, TruckState, [{"truck_id": truck_id}])
    stmt = select(TruckState).where(TruckState.truck_id == truck_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    state = session.scalars(stmt.execution_options(populate_existing=True)).one()
    return state


def existing_fix_times(
    session: Session, device_id: int, times: Sequence[datetime]
) -> set[datetime]:
    """Which of ``times`` this device has already stored: their fixes are duplicates."""
    if not times:
        return set()
    stmt = select(Ping.fix_time).where(
        Ping.device_id == device_id, Ping.fix_time >= min(times), Ping.fix_time <= max(times)
    )
    wanted = set(times)
    return {t for t in session.scalars(stmt) if t in wanted}


def insert_pings(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Store pings; a (device, fix time) already present is skipped, never doubled."""
    insert_ignore(session, Ping, rows)


def ping_before(session: Session, truck_id: str, before: datetime) -> Ping | None:
    """The truck's newest stored ping older than ``before``: the prior for a late fix."""
    stmt = (
        select(Ping)
        .where(Ping.truck_id == truck_id, Ping.fix_time < before)
        .order_by(Ping.fix_time.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def track(session: Session, truck_id: str, start: datetime, end: datetime) -> list[Ping]:
    """A truck's pings in [start, end), oldest first: history replay and recompute."""
    stmt = (
        select(Ping)
        .where(Ping.truck_id == truck_id, Ping.fix_time >= start, Ping.fix_time < end)
        .order_by(Ping.fix_time)
    )
    return list(session.scalars(stmt))
