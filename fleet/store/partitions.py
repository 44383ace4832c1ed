"""Daily partitions of ``pings`` on PostgreSQL, and removing old pings on any backend.

Partitions follow local calendar days (``FLEET_LOCAL_TZ``), so one partition holds one
working day of every shift and an archived file is one service day. A ping whose day
has no partition yet lands in ``pings_default``; creating that day's partition later
moves such rows out of it, so the default partition stays near empty.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, delete, func, select, text
from sqlalchemy.orm import Session

from fleet.models import PendingPing, Ping
from fleet.store.queries import day_bounds

__all__ = [
    "DEFAULT_PARTITION",
    "archive_partition",
    "archive_pings",
    "create_partition",
    "default_days",
    "delete_pings",
    "drop_partition",
    "forget_queued",
    "is_partitioned",
    "oldest_ping_day",
    "partition_days",
    "partition_name",
]

DEFAULT_PARTITION = "pings_default"
_PREFIX = "pings_p"
#: Every stored column of a ping, as the ORM knows it (the generated ``geom`` is not one).
COLUMNS: tuple[str, ...] = tuple(c.name for c in Ping.__table__.columns)


def partition_name(day: date) -> str:
    return f"{_PREFIX}{day:%Y%m%d}"


def is_partitioned(session: Session) -> bool:
    """Whether ``pings`` is the partitioned table of migration 0002 (PostgreSQL only)."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    kind = session.execute(text("SELECT relkind FROM pg_class WHERE oid = 'pings'::regclass"))
    relkind: str = kind.scalar_one()
    return relkind == "p"


def partition_days(session: Session) -> dict[date, str]:
    """The daily partitions attached to ``pings``: day -> table name."""
    rows = session.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'pings'::regclass"
        )
    ).scalars()
    days: dict[date, str] = {}
    for name in rows:
        if name.startswith(_PREFIX):
            days[datetime.strptime(name.removeprefix(_PREFIX), "%Y%m%d").date()] = name
    return days


def default_days(session: Session, tz: ZoneInfo) -> set[date]:
    """Local days that have rows in the default partition (no partition of their own)."""
    stmt = text(f"SELECT DISTINCT (fix_time AT TIME ZONE :tz)::date FROM {DEFAULT_PARTITION}")
    return set(session.execute(stmt, {"tz": tz.key}).scalars())


def create_partition(session: Session, day: date, tz: ZoneInfo) -> str:
    """Create the partition of ``day``, moving that day's rows out of the default one.

    PostgreSQL refuses a new partition while the default partition holds rows of its
    range, so those rows are moved with the default detached, in one transaction:
    concurrent writers wait on the lock for that moment instead of failing.
    """
    name = partition_name(day)
    start, end = (f"'{bound.isoformat()}'" for bound in day_bounds(day, tz))
    in_range = f"fix_time >= {start} AND fix_time < {end}"
    create = f"CREATE TABLE {name} PARTITION OF pings FOR VALUES FROM ({start}) TO ({end})"
    stranded = session.execute(
        text(f"SELECT EXISTS (SELECT 1 FROM {DEFAULT_PARTITION} WHERE {in_range})")
    ).scalar_one()
    if not stranded:
        session.execute(text(create))
        return name
    columns = ", ".join(COLUMNS)
    session.execute(text(f"ALTER TABLE pings DETACH PARTITION {DEFAULT_PARTITION}"))
    session.execute(text(create))
    session.execute(
        text(
            f"INSERT INTO pings ({columns}) SELECT {columns} FROM {DEFAULT_PARTITION}"
            f" WHERE {in_range}"
        )
    )
    session.execute(text(f"DELETE FROM {DEFAULT_PARTITION} WHERE {in_range}"))
    session.execute(text(f"ALTER TABLE pings ATTACH PARTITION {DEFAULT_PARTITION} DEFAULT"))
    return name


def drop_partition(session: Session, name: str) -> None:
    if not name.startswith(_PREFIX) or not name.removeprefix(_PREFIX).isdigit():
        raise ValueError(f"not a daily ping partition: {name!r}")
    session.execute(text(f"DROP TABLE {name}"))


def archive_partition(session: Session, name: str, path: Path) -> None:
    """Write a whole partition to CSV with PostgreSQL's COPY (times in UTC)."""
    if not name.startswith(_PREFIX):
        raise ValueError(f"not a daily ping partition: {name!r}")
    session.execute(text("SET LOCAL TimeZone = 'UTC'"))
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    query = f"COPY (SELECT {', '.join(COLUMNS)} FROM {name} ORDER BY fix_time) TO STDOUT"
    with _atomic(path) as out, cursor.copy(f"{query} WITH (FORMAT csv, HEADER)") as copy:
        for block in copy:
            out.write(bytes(block))


def oldest_ping_day(session: Session, tz: ZoneInfo) -> date | None:
    oldest = session.scalar(select(func.min(Ping.fix_time)))
    return None if oldest is None else oldest.astimezone(tz).date()


def delete_pings(session: Session, start: datetime, end: datetime) -> int:
    """Delete pings with ``start <= fix_time < end``; returns how many went."""
    stmt = delete(Ping).where(Ping.fix_time >= start, Ping.fix_time < end)
    result = session.execute(stmt, execution_options={"synchronize_session": False})
    assert isinstance(result, CursorResult)  # a DELETE's result; only the type hint is wider
    return result.rowcount


def forget_queued(session: Session, start: datetime, end: datetime) -> None:
    """Take pings with ``start <= fix_time < end`` off the processing queue: retention
    removes them before any worker processed them (one that was down that long), and a
    queue row without its ping would wait forever."""
    stmt = delete(PendingPing).where(PendingPing.fix_time >= start, PendingPing.fix_time < end)
    session.execute(stmt, execution_options={"synchronize_session": False})


def archive_pings(session: Session, start: datetime, end: datetime, path: Path) -> int:
    """Write pings with ``start <= fix_time < end`` to CSV in COPY's style; returns rows."""
    table = Ping.__table__
    stmt = (
        select(*table.columns)
        .where(table.c.fix_time >= start, table.c.fix_time < end)
        .order_by(table.c.fix_time)
    )
    rows = session.execute(stmt)
    with _atomic(path) as raw:
        return _write_csv(raw, rows)


def _write_csv(raw: BinaryIO, rows: Iterable[Sequence[object]]) -> int:
    out = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    count = 0
    for row in rows:
        writer.writerow([_cell(v) for v in row])
        count += 1
    out.flush()
    out.detach()
    return count


def _cell(value: object) -> object:
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return "" if value is None else value


@contextmanager
def _atomic(path: Path) -> Iterator[BinaryIO]:
    """A file that appears under its name only once fully written and synced, so a
    crash never leaves a truncated archive that looks complete."""
    partial = path.with_name(path.name + ".part")
    try:
        with partial.open("wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)
