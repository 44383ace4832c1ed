"""Trucks and the devices that report for them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fleet.models import Device, Truck

__all__ = ["DeviceRef", "UnknownTruck", "add_device", "find_device", "list_devices", "touch"]


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
    """Record contact (heartbeats count); the last fix time only ever moves forward."""
    device = session.get(Device, device_id)
    if device is None:
        return
    if device.last_contact_at is None or contact_at > device.last_contact_at:
        device.last_contact_at = contact_at
    if fix_at is not None and (device.last_fix_at is None or fix_at > device.last_fix_at):
        device.last_fix_at = fix_at
