"""Database upkeep: daily ping partitions ahead of time, and pings past retention removed.

Run by ``fleet db maintain`` (daily, from cron or the compose ``maintain`` service).
On PostgreSQL whole daily partitions are dropped, which costs nothing per row and
leaves no bloat; on SQLite the same days are deleted row by row. Each day is its own
transaction, so the lock that ingestion waits on is held for one day's work at most,
and an interrupted run loses nothing: the next run carries on where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from fleet.db import Database
from fleet.store import partitions
from fleet.store.queries import day_bounds

__all__ = ["MaintenanceReport", "maintain"]


@dataclass(frozen=True)
class MaintenanceReport:
    created: tuple[str, ...]
    dropped: tuple[str, ...]
    deleted_rows: int
    archived: tuple[Path, ...]

    def lines(self) -> list[str]:
        out = [f"created partition {name}" for name in self.created]
        out += [f"dropped partition {name}" for name in self.dropped]
        out += [f"archived {path}" for path in self.archived]
        if self.deleted_rows:
            out.append(f"deleted {self.deleted_rows} pings past retention")
        return out or ["nothing to do"]


def maintain(
    db: Database,
    now: datetime,
    tz: ZoneInfo,
    *,
    retention_days: int,
    ahead_days: int = 7,
    archive_dir: Path | None = None,
) -> MaintenanceReport:
    """Remove pings older than ``retention_days`` local days (0 keeps all), then create
    partitions for today and ``ahead_days`` days after. Returns what was done."""
    today = now.astimezone(tz).date()
    cutoff = today - timedelta(days=retention_days) if retention_days > 0 else None
    if archive_dir is not None:
        archive_dir.mkdir(parents=True, exist_ok=True)
    with db.read() as session:
        partitioned = partitions.is_partitioned(session)
    dropped: list[str] = []
    archived: list[Path] = []
    if partitioned and cutoff is not None:
        dropped, archived = _drop_partitions(db, cutoff, tz, archive_dir)
    deleted, more = _delete_rows(db, tz, cutoff, archive_dir) if cutoff else (0, [])
    created = _create_partitions(db, tz, today, ahead_days, cutoff) if partitioned else []
    return MaintenanceReport(tuple(created), tuple(dropped), deleted, tuple(archived + more))


def _archive_path(archive_dir: Path, day: date) -> Path:
    return archive_dir / f"pings-{day.isoformat()}.csv"


def _drop_partitions(
    db: Database, cutoff: date, tz: ZoneInfo, archive_dir: Path | None
) -> tuple[list[str], list[Path]]:
    with db.read() as session:
        days = partitions.partition_days(session)
    expired = sorted((day, name) for day, name in days.items() if day < cutoff)
    dropped: list[str] = []
    archived: list[Path] = []
    for day, name in expired:
        if archive_dir is not None:
            path = _archive_path(archive_dir, day)
            with db.read() as session:
                partitions.archive_partition(session, name, path)
            archived.append(path)
        with db.write() as session:
            partitions.forget_queued(session, *day_bounds(day, tz))
            partitions.drop_partition(session, name)
        dropped.append(name)
    return dropped, archived


def _delete_rows(
    db: Database, tz: ZoneInfo, cutoff: date, archive_dir: Path | None
) -> tuple[int, list[Path]]:
    """Rows older than the cutoff outside daily partitions: all of them on SQLite, the
    default partition's on PostgreSQL. One local day per transaction."""
    deleted = 0
    archived: list[Path] = []
    while True:
        with db.write() as session:
            day = partitions.oldest_ping_day(session, tz)
            if day is None or day >= cutoff:
                return deleted, archived
            start, end = day_bounds(day, tz)
            if archive_dir is not None:
                path = _archive_path(archive_dir, day)
                partitions.archive_pings(session, start, end, path)
                archived.append(path)
            partitions.forget_queued(session, start, end)
            deleted += partitions.delete_pings(session, start, end)


def _create_partitions(
    db: Database, tz: ZoneInfo, today: date, ahead_days: int, cutoff: date | None
) -> list[str]:
    with db.read() as session:
        existing = set(partitions.partition_days(session))
        stranded = partitions.default_days(session, tz)
    wanted = {today + timedelta(days=n) for n in range(ahead_days + 1)}
    wanted |= {d for d in stranded if cutoff is None or d >= cutoff}
    created: list[str] = []
    for day in sorted(wanted - existing):
        with db.write() as session:
            created.append(partitions.create_partition(session, day, tz))
    return created
