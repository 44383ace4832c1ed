"""Pings, the queue of pings awaiting processing, and the per-truck live state."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, Table, bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from fleet.fix import Fix
from fleet.models import Base, PendingPing, Ping, TruckState
from fleet.store.pgarray import array_literal
from fleet.store.upsert import insert_ignore

__all__ = [
    "Queued",
    "Stored",
    "insert_raw",
    "lock_state",
    "lock_states",
    "pending_for",
    "pending_ids",
    "pending_trucks",
    "ping_before",
    "read_states",
    "save_snapped",
    "save_state",
    "stored_between",
    "track",
]


def _core_table(model: type[Base]) -> Table:
    """The model's Core table: bulk writes through it skip the ORM's per-row bookkeeping."""
    table = model.__table__
    assert isinstance(table, Table)  # declarative models map a Table; the hint is wider
    return table


_PINGS = _core_table(Ping)
_PENDING = _core_table(PendingPing)
#: Rows per SQLite statement: 12 parameters each, within SQLite's 32,766.
_SQLITE_ROWS = 500
#: The raw columns with their PostgreSQL array types, in the order of ``_raw_row``.
_RAW_COLUMNS = (
    ("device_id", "bigint"),
    ("truck_id", "text"),
    ("fix_time", "timestamptz"),
    ("received_at", "timestamptz"),
    ("lat", "float8"),
    ("lon", "float8"),
    ("speed_mps", "float8"),
    ("heading_deg", "float8"),
    ("accuracy_m", "float8"),
    ("altitude_m", "float8"),
    ("battery_pct", "float8"),
    ("attributes", "text"),
)
#: PostgreSQL: store and queue a whole group in one statement and one round trip, each
#: column sent as one array literal (a multi-row VALUES of thousands of parameters, or
#: arrays the driver builds element by element, cost the driver more than the server).
_INSERT_RAW_PG = f"""
    WITH new AS (
        INSERT INTO pings ({", ".join(name for name, _ in _RAW_COLUMNS)})
        SELECT {", ".join(f"r.{name}" for name, _ in _RAW_COLUMNS[:-1])}, CAST(r.attributes AS json)
        FROM unnest({", ".join(f"CAST(%({name})s AS {kind}[])" for name, kind in _RAW_COLUMNS)})
            AS r({", ".join(name for name, _ in _RAW_COLUMNS)})
        ON CONFLICT (device_id, fix_time) DO NOTHING
        RETURNING id, device_id, truck_id, fix_time
    ), queued AS (
        INSERT INTO pending_pings (ping_id, truck_id, fix_time)
        SELECT id, truck_id, fix_time FROM new
    )
    SELECT device_id, fix_time FROM new
    """


def insert_raw(session: Session, rows: Sequence[dict[str, Any]]) -> set[tuple[int, datetime]]:
    """Store raw pings and queue them for processing; returns the (device, fix time)
    pairs stored.

    A (device, fix time) already stored is skipped by the unique key, whatever the
    process or request that stored it: that is how duplicates are never stored twice.
    """
    if not rows:
        return set()
    if session.connection().dialect.name == "postgresql":
        return _insert_raw_pg(session, rows)
    return _insert_raw_sqlite(session, rows)


def _insert_raw_sqlite(
    session: Session, rows: Sequence[dict[str, Any]]
) -> set[tuple[int, datetime]]:
    """Parameters formatted here as SQLAlchemy stores them on SQLite (naive UTC text,
    JSON text), skipping its per-row processing: it cost more than the insert."""
    connection = session.connection()
    names = [name for name, _ in _RAW_COLUMNS]
    times: dict[tuple[int, str], datetime] = {}
    params = []
    for row in rows:
        values = [row[name] for name in names]
        for i in (2, 3):
            values[i] = _sqlite_time(values[i])
        times[(row["device_id"], values[2])] = row["fix_time"]
        values[11] = None if values[11] is None else json.dumps(values[11])
        params.append(tuple(values))
    stored: list[Any] = []
    for start in range(0, len(params), _SQLITE_ROWS):
        chunk = params[start : start + _SQLITE_ROWS]
        flat = tuple(value for values in chunk for value in values)
        stored += connection.exec_driver_sql(_sqlite_insert(len(chunk)), flat).all()
    if stored:
        queue = [(ping_id, truck_id, fix_time) for ping_id, _, truck_id, fix_time in stored]
        connection.exec_driver_sql(_SQLITE_QUEUE, queue)
    return {(device_id, times[(device_id, fix_time)]) for _, device_id, _, fix_time in stored}


def _sqlite_time(moment: datetime) -> str:
    """SQLAlchemy's SQLite text for an aware datetime (see ``UTCDateTime``)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


@functools.cache
def _sqlite_insert(count: int) -> str:
    names = ", ".join(name for name, _ in _RAW_COLUMNS)
    row = "(" + ", ".join("?" * len(_RAW_COLUMNS)) + ")"
    return (
        f"INSERT INTO pings ({names}) VALUES {', '.join([row] * count)}"
        " ON CONFLICT (device_id, fix_time) DO NOTHING"
        " RETURNING id, device_id, truck_id, fix_time"
    )


_SQLITE_QUEUE = "INSERT INTO pending_pings (ping_id, truck_id, fix_time) VALUES (?, ?, ?)"


def _insert_raw_pg(session: Session, rows: Sequence[dict[str, Any]]) -> set[tuple[int, datetime]]:
    """Each column goes as the text of one array (``fleet.store.pgarray``)."""
    columns: dict[str, list[Any]] = {name: [r[name] for r in rows] for name, _ in _RAW_COLUMNS}
    columns["attributes"] = [None if a is None else json.dumps(a) for a in columns["attributes"]]
    params = {name: array_literal(columns[name], kind) for name, kind in _RAW_COLUMNS}
    stored = session.connection().exec_driver_sql(_INSERT_RAW_PG, params).all()
    return {(device_id, fix_time.astimezone(UTC)) for device_id, fix_time in stored}


def lock_states(
    session: Session, truck_ids: Sequence[str], *, skip_locked: bool = False
) -> dict[str, TruckState]:
    """The trucks' state rows, locked until commit, so writers on any process apply one
    after the other and no matching state is lost. With ``skip_locked``, a truck whose
    row another process holds (it is already processing it) is left out.

    One statement for all trucks of a round. The states come back as detached values
    (read through Core, written back by ``save_state``): the ORM's identity map and
    flush cost more than the work on one truck. Rows are created only when missing: an
    INSERT on every call would cost a write per truck and round, and on PostgreSQL
    would wait for a process holding the row instead of skipping it."""
    if not truck_ids:
        return {}
    states = _select_states(session, truck_ids, skip_locked)
    missing = [t for t in truck_ids if t not in states]
    if missing:
        exists = select(_STATES.c.truck_id).where(_STATES.c.truck_id.in_(missing))
        held = set(session.execute(exists).scalars())
        absent = [t for t in missing if t not in held]
        if absent:
            insert_ignore(session, TruckState, [{"truck_id": t} for t in absent])
            states.update(_select_states(session, absent, skip_locked))
    return states


def _select_states(
    session: Session, truck_ids: Sequence[str], skip_locked: bool
) -> dict[str, TruckState]:
    stmt = select(*_STATES.c).where(_STATES.c.truck_id.in_(list(truck_ids)))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.order_by(_STATES.c.truck_id).with_for_update(skip_locked=skip_locked)
    return {r.truck_id: TruckState(**r._asdict()) for r in session.execute(stmt)}


def read_states(session: Session, truck_ids: Sequence[str]) -> dict[str, TruckState]:
    """The trucks' state rows as they are now, not locked (trucks without one left out)."""
    if not truck_ids:
        return {}
    stmt = select(*_STATES.c).where(_STATES.c.truck_id.in_(list(truck_ids)))
    return {r.truck_id: TruckState(**r._asdict()) for r in session.execute(stmt)}


def save_state(session: Session, state: TruckState) -> None:
    """Write a state returned by ``lock_states`` back, in one UPDATE."""
    values = {c.key: getattr(state, c.key) for c in _STATES.c if c.key != "truck_id"}
    session.execute(_SAVE_STATE, {"key": state.truck_id, **values})


def lock_state(session: Session, truck_id: str, *, skip_locked: bool = False) -> TruckState | None:
    """One truck's state (see ``lock_states``); None if another process holds it."""
    return lock_states(session, [truck_id], skip_locked=skip_locked).get(truck_id)


def pending_trucks(session: Session, limit: int = 200) -> list[tuple[str, int]]:
    """Trucks with pings waiting, with how many wait."""
    stmt = (
        select(PendingPing.truck_id, func.count())
        .group_by(PendingPing.truck_id)
        .order_by(PendingPing.truck_id)
        .limit(limit)
    )
    return [(truck_id, count) for truck_id, count in session.execute(stmt)]


@dataclass(frozen=True, slots=True)
class Queued:
    """A waiting ping: its queue row, its stored row and the fix it holds."""

    queue_id: int
    ping_id: int
    fix: Fix


def pending_for(session: Session, truck_ids: Sequence[str], limit: int) -> dict[str, list[Queued]]:
    """Each truck's waiting pings (at most ``limit``), oldest fix first: one query."""
    if not truck_ids:
        return {}
    stmt = _waiting(truck_ids, limit).add_columns(*_FIX_COLUMNS)
    out: dict[str, list[Queued]] = {}
    for r in session.execute(stmt).all():
        fix = Fix(r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10])
        out.setdefault(r[1], []).append(Queued(r[0], r[2], fix))
    return out


def pending_ids(session: Session, truck_ids: Sequence[str], limit: int) -> dict[str, list[int]]:
    """The queue ids of exactly what ``pending_for`` would return, without the fixes:
    enough to tell whether a match made from an earlier read still holds."""
    if not truck_ids:
        return {}
    out: dict[str, list[int]] = {}
    for queue_id, truck_id in session.execute(_waiting(truck_ids, limit)).all():
        out.setdefault(truck_id, []).append(queue_id)
    return out


def _waiting(truck_ids: Sequence[str], limit: int) -> Select[int, str]:
    """The trucks' first ``limit`` queue rows by fix time, with their stored pings:
    (queue id, truck id) per row, in order; the caller adds the columns it needs."""
    q = _PENDING.c
    rank = (
        func.row_number().over(partition_by=q.truck_id, order_by=(q.fix_time, q.id)).label("rank")
    )
    waiting = (
        select(q.id, q.ping_id, q.truck_id, q.fix_time, rank)
        .where(q.truck_id.in_(list(truck_ids)))
        .subquery()
    )
    p = _PINGS.c
    return (
        select(waiting.c.id, waiting.c.truck_id)
        .join(_PINGS, (p.id == waiting.c.ping_id) & (p.fix_time == waiting.c.fix_time))
        .where(waiting.c.rank <= limit)
        .order_by(waiting.c.truck_id, waiting.c.rank)
    )


def save_snapped(
    session: Session, snapped: Sequence[dict[str, Any]], queue_ids: Sequence[int]
) -> None:
    """Write each ping's snapped result and take it off the queue, in one transaction."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        params = [tuple(row[name] for name in _SNAP_COLUMNS) + (row["ping_id"],) for row in snapped]
        if params:
            connection.exec_driver_sql(_SQLITE_SAVE_SNAP, params)
        if queue_ids:
            connection.exec_driver_sql(_SQLITE_UNQUEUE, [(q,) for q in queue_ids])
        return
    if snapped:
        connection.execute(_SAVE_SNAP, list(snapped))
    if queue_ids:
        connection.execute(delete(_PENDING).where(_PENDING.c.id.in_(list(queue_ids))))


def ping_before(session: Session, truck_id: str, before: datetime) -> Stored | None:
    """The truck's newest stored ping older than ``before``: the prior for a late fix."""
    p = _PINGS.c
    stmt = (
        select(*_STORED_COLUMNS)
        .where(p.truck_id == truck_id, p.fix_time < before)
        .order_by(p.fix_time.desc())
        .limit(1)
    )
    row = session.execute(stmt).first()
    return None if row is None else _stored(row)


def stored_between(session: Session, truck_id: str, start: datetime, end: datetime) -> list[Stored]:
    """A truck's stored pings in [start, end), oldest first, as snapped values."""
    p = _PINGS.c
    stmt = (
        select(*_STORED_COLUMNS)
        .where(p.truck_id == truck_id, p.fix_time >= start, p.fix_time < end)
        .order_by(p.fix_time)
    )
    return [_stored(r) for r in session.execute(stmt)]


@dataclass(frozen=True, slots=True)
class Stored:
    """A stored ping with where it snapped (fields as in ``pings``)."""

    fix: Fix
    route_id: str | None
    progress_m: float | None
    snap_lat: float | None
    snap_lon: float | None
    offset_m: float | None
    on_route: bool | None
    confidence: float | None


def _stored(r: Any) -> Stored:
    fix = Fix(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7])
    return Stored(fix, r[8], r[9], r[10], r[11], r[12], r[13], r[14])


_STATES = _core_table(TruckState)
_FIX_COLUMNS = [
    _PINGS.c[name]
    for name in (
        "id",
        "fix_time",
        "lat",
        "lon",
        "speed_mps",
        "heading_deg",
        "accuracy_m",
        "altitude_m",
        "battery_pct",
    )
]
#: What processing writes into a ping.
_SNAP_COLUMNS = (
    "route_id",
    "progress_m",
    "snap_lat",
    "snap_lon",
    "offset_m",
    "on_route",
    "confidence",
)
_STORED_COLUMNS = _FIX_COLUMNS[1:] + [_PINGS.c[name] for name in _SNAP_COLUMNS]
_SAVE_STATE = (
    update(_STATES)
    .where(_STATES.c.truck_id == bindparam("key"))
    .values({c.key: bindparam(c.key) for c in _STATES.c if c.key != "truck_id"})
)
_SAVE_SNAP = (
    update(_PINGS)
    .where(_PINGS.c.id == bindparam("ping_id"))
    .where(_PINGS.c.fix_time == bindparam("ping_time"))
    .values({name: bindparam(name) for name in _SNAP_COLUMNS})
)
#: On SQLite the id alone is the row, and plain values need none of SQLAlchemy's
#: per-row processing and statement building, which cost several times the statements
#: themselves (under the write lock).
_SQLITE_UNQUEUE = "DELETE FROM pending_pings WHERE id = ?"
_SQLITE_SAVE_SNAP = (
    f"UPDATE pings SET {', '.join(f'{name} = ?' for name in _SNAP_COLUMNS)} WHERE id = ?"
)


def track(session: Session, truck_id: str, start: datetime, end: datetime) -> list[Ping]:
    """A truck's pings in [start, end), oldest first: history replay and recompute."""
    stmt = (
        select(Ping)
        .where(Ping.truck_id == truck_id, Ping.fix_time >= start, Ping.fix_time < end)
        .order_by(Ping.fix_time)
    )
    return list(session.scalars(stmt))
