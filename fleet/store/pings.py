"""Pings, the queue of pings awaiting processing, and the per-truck live state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fleet.models import Base, PendingPing, Ping, TruckState
from fleet.store.upsert import insert_ignore

__all__ = [
    "insert_raw",
    "lock_state",
    "pending_for",
    "pending_trucks",
    "ping_before",
    "save_snapped",
    "track",
]


def _core_table(model: type[Base]) -> Table:
    """The model's Core table: bulk writes through it skip the ORM's per-row bookkeeping."""
    table = model.__table__
    assert isinstance(table, Table)  # declarative models map a Table; the hint is wider
    return table


_PINGS = _core_table(Ping)
_PENDING = _core_table(PendingPing)


def insert_raw(session: Session, rows: Sequence[dict[str, Any]]) -> set[datetime]:
    """Store raw pings and queue them for processing; returns the fix times stored.

    A (device, fix time) already stored is skipped by the unique key, whatever the
    process or request that stored it: that is how duplicates are never stored twice.
    """
    if not rows:
        return set()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(Ping)
        .on_conflict_do_nothing(index_elements=["device_id", "fix_time"])
        .returning(Ping.id, Ping.truck_id, Ping.fix_time)
    )
    stored = session.execute(stmt, list(rows)).all()
    queue = [{"ping_id": r.id, "truck_id": r.truck_id, "fix_time": r.fix_time} for r in stored]
    if queue:
        session.execute(_PENDING.insert(), queue)
    return {r.fix_time for r in stored}


def lock_state(session: Session, truck_id: str, *, skip_locked: bool = False) -> TruckState | None:
    """The truck's state row, locked until commit, so writers on any process apply one
    after the other and no matching state is lost. With ``skip_locked``, None when
    another process holds it (it is already processing this truck).

    The row is created only when missing: an INSERT on every call would cost a write
    per truck and round, and on PostgreSQL would wait for a process holding the row
    instead of skipping it."""
    where = TruckState.truck_id == truck_id
    stmt = select(TruckState).where(where).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=skip_locked)
    state = session.scalars(stmt).first()
    if state is None and session.scalar(select(TruckState.truck_id).where(where)) is None:
        insert_ignore(session, TruckState, [{"truck_id": truck_id}])
        state = session.scalars(stmt).first()
    return state


def pending_trucks(session: Session, limit: int = 200) -> list[str]:
    """Trucks with pings waiting, oldest waiting first."""
    stmt = (
        select(PendingPing.truck_id)
        .group_by(PendingPing.truck_id)
        .order_by(PendingPing.truck_id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def pending_for(session: Session, truck_id: str, limit: int) -> list[tuple[int, Ping]]:
    """A truck's waiting pings, oldest fix first, with their queue ids."""
    stmt = (
        select(PendingPing.id, Ping)
        .join(Ping, (Ping.id == PendingPing.ping_id) & (Ping.fix_time == PendingPing.fix_time))
        .where(PendingPing.truck_id == truck_id)
        .order_by(PendingPing.fix_time, PendingPing.id)
        .limit(limit)
    )
    return [(queue_id, ping) for queue_id, ping in session.execute(stmt)]


def save_snapped(
    session: Session, snapped: Sequence[dict[str, Any]], queue_ids: Sequence[int]
) -> None:
    """Write each ping's snapped result and take it off the queue, in one transaction."""
    if snapped:
        stmt = (
            update(_PINGS)
            .where(_PINGS.c.id == bindparam("ping_id"))
            .where(_PINGS.c.fix_time == bindparam("ping_time"))
            .values(
                route_id=bindparam("route_id"),
                progress_m=bindparam("progress_m"),
                snap_lat=bindparam("snap_lat"),
                snap_lon=bindparam("snap_lon"),
                offset_m=bindparam("offset_m"),
                on_route=bindparam("on_route"),
                confidence=bindparam("confidence"),
            )
        )
        session.connection().execute(stmt, list(snapped))
    if queue_ids:
        session.execute(delete(PendingPing).where(PendingPing.id.in_(list(queue_ids))))


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
