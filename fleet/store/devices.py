"""Trucks and the devices that report for them."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, func, or_, select, update
from sqlalchemy.orm import Session

from fleet.models import Device, Truck, UTCDateTime

__all__ = [
    "DeviceRef",
    "UnknownTruck",
    "add_device",
    "find_device",
    "list_devices",
    "touch",
    "touch_many",
]


class UnknownTruck(LookupError):
    """The fleet code names no truck in the database."""


@dataclass(frozen=True, slots=True)
class DeviceRef:
    id: int
    truck_id: str
    enabled: bool


def new_identifier() -> str:
    """An unguessable identifier: it is the device's only credential."""
    return secrets.token_urlsafe(18)


def add_device(session: Session, truck_id: str, identifier: str | None = None) -> str:
    """Register a device for a truck and return its identifier (shown once)."""
    if session.get(Truck, truck_id) is None:
        raise UnknownTruck(truck_id)
    ident = identifier or new_identifier()
    session.add(Device(identifier=ident, truck_id=truck_id))
    session.flush()
    return ident


def find_device(session: Session, identifier: str) -> DeviceRef | None:
    row = session.execute(
        select(Device.id, Device.truck_id, Device.enabled).where(Device.identifier == identifier)
    ).first()
    return None if row is None else DeviceRef(row.id, row.truck_id, row.enabled)


def list_devices(session: Session) -> list[Device]:
    return list(session.scalars(select(Device).order_by(Device.truck_id, Device.id)))


def set_enabled(session: Session, identifier: str, enabled: bool) -> bool:
    result = session.execute(
        update(Device).where(Device.identifier == identifier).values(enabled=enabled)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def touch(session: Session, device_id: int, contact_at: datetime, fix_at: datetime | None) -> None:
    """Record contact (heartbeats count); both times only ever move forward."""
    params = {"device": device_id, "contact": contact_at, "fix": fix_at}
    session.connection().execute(_TOUCH, params)


def touch_many(session: Session, touches: Sequence[tuple[int, datetime, datetime | None]]) -> None:
    """``touch`` for many (device, contact, fix) at once: one row per device."""
    latest: dict[int, tuple[datetime, datetime | None]] = {}
    for device_id, contact_at, fix_at in touches:
        seen = latest.get(device_id)
        if seen is not None:
            contact_at = max(contact_at, seen[0])
            fix_at = max((t for t in (fix_at, seen[1]) if t is not None), default=None)
        latest[device_id] = (contact_at, fix_at)
    params = [{"device": d, "contact": c, "fix": f} for d, (c, f) in latest.items()]
    if params:
        session.connection().execute(_TOUCH, params)


def _later(column: Any, name: str) -> Any:
    value = bindparam(name, type_=UTCDateTime())
    newer = or_(column.is_(None), and_(value.is_not(None), column < value))
    return case((newer, func.coalesce(value, column)), else_=column)


#: One statement, compiled once: the hot path of every request.
_TOUCH = (
    update(Device)
    .where(Device.id == bindparam("device"))
    .values(
        last_contact_at=_later(Device.last_contact_at, "contact"),
        last_fix_at=_later(Device.last_fix_at, "fix"),
    )
)
