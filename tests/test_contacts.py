"""Device contact times noted per request, written per interval (fleet/contacts.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError

from fleet.contacts import Contacts
from fleet.db import open_database
from fleet.models import Device
from fleet.runtime import get_runtime
from fleet.store.devices import find_device


def _times(app: Flask, identifier: str) -> tuple[datetime | None, datetime | None]:
    with get_runtime(app).db.read() as session:
        ref = find_device(session, identifier)
        assert ref is not None
        device = session.get(Device, ref.id)
        assert device is not None
        return device.last_contact_at, device.last_fix_at


def _device_id(app: Flask, identifier: str) -> int:
    with get_runtime(app).db.read() as session:
        ref = find_device(session, identifier)
        assert ref is not None
        return ref.id


def test_the_latest_times_are_written_and_never_moved_back(app: Flask, device: str) -> None:
    contacts, db = Contacts(), get_runtime(app).db
    device_id = _device_id(app, device)
    now = datetime.now(UTC).replace(microsecond=0)
    contacts.note(device_id, now, now - timedelta(seconds=5))
    contacts.note(device_id, now - timedelta(seconds=30), None)  # a late request's contact
    assert contacts.flush(db) == 1
    assert _times(app, device) == (now, now - timedelta(seconds=5))
    contacts.note(device_id, now - timedelta(minutes=1), now - timedelta(minutes=1))
    contacts.flush(db)
    assert _times(app, device) == (now, now - timedelta(seconds=5))
    assert contacts.flush(db) == 0


def test_times_survive_a_failed_write_for_the_next_one(app: Flask, device: str) -> None:
    contacts = Contacts()
    device_id = _device_id(app, device)
    now = datetime.now(UTC).replace(microsecond=0)
    contacts.note(device_id, now, now)
    away = open_database("postgresql+psycopg://nobody@127.0.0.1:1/none", check=False)
    with pytest.raises(OperationalError):
        contacts.flush(away)
    assert contacts.flush(get_runtime(app).db) == 1
    assert _times(app, device) == (now, now)


def test_a_heartbeat_counts_as_contact_and_stores_no_fix(
    app: Flask, device: str, client: FlaskClient
) -> None:
    answer = client.get(f"/osmand?id={device}")
    assert answer.status_code == 200
    contact, fix = _times(app, device)
    assert contact is not None and fix is None
    assert datetime.now(UTC) - contact < timedelta(seconds=10)
