"""Alerts for dispatchers: raised once per dedupe key, acknowledged by a person."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fleet.models import Alert
from fleet.store.upsert import insert_ignore

__all__ = ["acknowledge", "alert_json", "raise_alert", "recent_alerts"]


def raise_alert(
    session: Session,
    kind: str,
    message: str,
    dedupe_key: str,
    now: datetime,
    truck_id: str | None = None,
    route_id: str | None = None,
) -> Alert | None:
    """Store the alert unless one with the same key exists; returns it only if new."""
    if session.scalar(select(Alert.id).where(Alert.dedupe_key == dedupe_key)) is not None:
        return None
    row = {
        "kind": kind,
        "message": message,
        "dedupe_key": dedupe_key,
        "created_at": now,
        "truck_id": truck_id,
        "route_id": route_id,
    }
    insert_ignore(session, Alert, [row])
    return session.scalars(select(Alert).where(Alert.dedupe_key == dedupe_key)).first()


def recent_alerts(session: Session, limit: int = 200) -> list[Alert]:
    stmt = select(Alert).order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def acknowledge(session: Session, alert_id: int, username: str, now: datetime) -> Alert | None:
    alert = session.get(Alert, alert_id)
    if alert is not None and alert.acknowledged_at is None:
        alert.acknowledged_at = now
        alert.acknowledged_by = username
    return alert


def alert_json(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "kind": alert.kind,
        "truck_id": alert.truck_id,
        "route_id": alert.route_id,
        "message": alert.message,
        "created_at": alert.created_at.isoformat(),
        "acknowledged": alert.acknowledged_at is not None,
        "acknowledged_by": alert.acknowledged_by,
    }
