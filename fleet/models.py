"""The schema: typed SQLAlchemy 2.0 models, the same on SQLite and PostgreSQL.

Geometries are stored as WKT in lon/lat (EPSG:4326) so the embedded SQLite needs no
extension; on PostgreSQL a migration adds PostGIS columns computed from them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Alert",
    "Base",
    "BinSite",
    "BinVisit",
    "Device",
    "Kecamatan",
    "Kelurahan",
    "PendingPing",
    "Ping",
    "Route",
    "RouteDay",
    "Site",
    "SiteVisit",
    "Street",
    "Truck",
    "TruckState",
    "User",
    "UTCDateTime",
]


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Truck(Base):
    __tablename__ = "trucks"
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Device(Base):
    __tablename__ = "devices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identifier: Mapped[str] = mapped_column(String(64), unique=True)
    truck_id: Mapped[str] = mapped_column(ForeignKey("trucks.id"), index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_contact_at: Mapped[datetime | None]
    last_fix_at: Mapped[datetime | None]


class Kecamatan(Base):
    __tablename__ = "kecamatan"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    kode: Mapped[str] = mapped_column(String(32))
    population: Mapped[int] = mapped_column(Integer)
    kelurahan: Mapped[list[Any]]
    wkt: Mapped[str] = mapped_column(Text)


class Kelurahan(Base):
    __tablename__ = "kelurahan"
    kode: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    kecamatan: Mapped[str] = mapped_column(ForeignKey("kecamatan.name"))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    wkt: Mapped[str] = mapped_column(Text)


class Street(Base):
    __tablename__ = "streets"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    kecamatan: Mapped[str] = mapped_column(String(64))
    kelurahan: Mapped[str | None] = mapped_column(String(64))
    road_class: Mapped[str] = mapped_column(String(16))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    wkt: Mapped[str] = mapped_column(Text)


class Route(Base):
    __tablename__ = "routes"
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    kecamatan: Mapped[str] = mapped_column(String(64))
    truck_id: Mapped[str | None] = mapped_column(ForeignKey("trucks.id"), index=True)
    color: Mapped[str] = mapped_column(String(16))
    schedule_days: Mapped[list[Any]]
    shift_start: Mapped[str] = mapped_column(String(5))
    shift_end: Mapped[str] = mapped_column(String(5))
    length_m: Mapped[float] = mapped_column(Float)
    collection_start_m: Mapped[float] = mapped_column(Float)
    collection_end_m: Mapped[float] = mapped_column(Float)
    wkt: Mapped[str] = mapped_column(Text)


class BinSite(Base):
    __tablename__ = "bins"
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    kecamatan: Mapped[str] = mapped_column(String(64), index=True)
    kelurahan: Mapped[str] = mapped_column(String(64))
    route_id: Mapped[str] = mapped_column(ForeignKey("routes.id"), index=True)
    progress_m: Mapped[float] = mapped_column(Float)
    street: Mapped[str | None] = mapped_column(String(128))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)


class Site(Base):
    __tablename__ = "sites"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(128))
    kecamatan: Mapped[str] = mapped_column(String(64))
    wkt: Mapped[str] = mapped_column(Text)


class Ping(Base):
    """A raw fix as the device sent it, with where it snapped onto the route."""

    __tablename__ = "pings"
    __table_args__ = (
        UniqueConstraint("device_id", "fix_time", name="uq_pings_device_fix_time"),
        Index("ix_pings_truck_fix_time", "truck_id", "fix_time"),
    )
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    truck_id: Mapped[str] = mapped_column(ForeignKey("trucks.id"))
    fix_time: Mapped[datetime]
    received_at: Mapped[datetime]
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    speed_mps: Mapped[float | None] = mapped_column(Float)
    heading_deg: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    altitude_m: Mapped[float | None] = mapped_column(Float)
    battery_pct: Mapped[float | None] = mapped_column(Float)
    attributes: Mapped[dict[str, Any] | None]
    route_id: Mapped[str | None] = mapped_column(String(16))
    progress_m: Mapped[float | None] = mapped_column(Float)
    snap_lat: Mapped[float | None] = mapped_column(Float)
    snap_lon: Mapped[float | None] = mapped_column(Float)
    offset_m: Mapped[float | None] = mapped_column(Float)
    on_route: Mapped[bool | None] = mapped_column(Boolean)
    confidence: Mapped[float | None] = mapped_column(Float)


class PendingPing(Base):
    """A stored ping not yet snapped and counted: the worker's queue, durable with it."""

    __tablename__ = "pending_pings"
    __table_args__ = (Index("ix_pending_pings_truck", "truck_id", "fix_time"),)
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    ping_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    truck_id: Mapped[str] = mapped_column(String(16))
    fix_time: Mapped[datetime]


class TruckState(Base):
    """The live state of one truck, the single row its writers lock, across processes."""

    __tablename__ = "truck_state"
    truck_id: Mapped[str] = mapped_column(ForeignKey("trucks.id"), primary_key=True)
    route_id: Mapped[str | None] = mapped_column(String(16))
    fix_time: Mapped[datetime | None]
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    heading_deg: Mapped[float | None] = mapped_column(Float)
    speed_mps: Mapped[float | None] = mapped_column(Float)
    progress_m: Mapped[float | None] = mapped_column(Float)
    on_route: Mapped[bool | None] = mapped_column(Boolean)
    matcher: Mapped[dict[str, Any] | None]
    geofence: Mapped[dict[str, Any] | None]
    last_moved_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]


class BinVisit(Base):
    __tablename__ = "bin_visits"
    __table_args__ = (
        UniqueConstraint("bin_id", "truck_id", "service_date", name="uq_bin_visits_day"),
        Index("ix_bin_visits_date", "service_date"),
        # Each bin's last service is one seek, however long the history grows.
        Index("ix_bin_visits_last", "bin_id", "status", "last_time"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bin_id: Mapped[str] = mapped_column(ForeignKey("bins.id"))
    truck_id: Mapped[str] = mapped_column(ForeignKey("trucks.id"))
    route_id: Mapped[str] = mapped_column(String(16))
    service_date: Mapped[date] = mapped_column(Date)
    first_time: Mapped[datetime]
    last_time: Mapped[datetime]
    closest_m: Mapped[float] = mapped_column(Float)
    dwell_s: Mapped[float] = mapped_column(Float)
    min_speed_mps: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))
    evidence: Mapped[dict[str, Any]]
    recorded_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RouteDay(Base):
    """The stretches of a route one truck drove on one WITA day, as measure intervals."""

    __tablename__ = "route_days"
    __table_args__ = (
        UniqueConstraint("route_id", "truck_id", "service_date", name="uq_route_day"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    route_id: Mapped[str] = mapped_column(ForeignKey("routes.id"))
    truck_id: Mapped[str] = mapped_column(ForeignKey("trucks.id"))
    service_date: Mapped[date] = mapped_column(Date, index=True)
    driven: Mapped[list[Any]]
    driven_m: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime]


class SiteVisit(Base):
    __tablename__ = "site_visits"
    __table_args__ = (UniqueConstraint("truck_id", "site_id", "entered_at", name="uq_site_visit"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    truck_id: Mapped[str] = mapped_column(ForeignKey("trucks.id"))
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    kind: Mapped[str] = mapped_column(String(16))
    service_date: Mapped[date] = mapped_column(Date, index=True)
    entered_at: Mapped[datetime]
    left_at: Mapped[datetime | None]


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("dedupe_key", name="uq_alert_dedupe"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    truck_id: Mapped[str | None] = mapped_column(String(16))
    route_id: Mapped[str | None] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    dedupe_key: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
