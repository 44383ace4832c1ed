"""Time-based alerts (fleet/monitor.py): offline devices, idle trucks, missed bins, once."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Flask

from fleet.models import Device, TruckState
from fleet.monitor import check
from fleet.runtime import get_runtime


def _shift_day(app: Flask) -> tuple[date, datetime, datetime]:
    reference = get_runtime(app).reference.get()
    shift = reference.routes["KP-01"].shift
    day = datetime.now(reference.tz).date() - timedelta(days=1)
    while not shift.runs_on(day):
        day -= timedelta(days=1)
    start, end = shift.window(day, reference.tz)
    return day, start, end


def test_offline_device_on_shift_is_alerted_once(app: Flask, device: str) -> None:
    _, start, _ = _shift_day(app)
    now = start + timedelta(hours=1)
    runtime = get_runtime(app)
    with runtime.db.write() as session:
        dev = session.query(Device).one()
        dev.last_contact_at = now - timedelta(minutes=20)
        dev.last_fix_at = now - timedelta(minutes=20)
    with runtime.db.write() as session:
        first = check(session, runtime.reference.get(), now)
    with runtime.db.write() as session:
        again = check(session, runtime.reference.get(), now + timedelta(minutes=1))
    assert [a["kind"] for a in first] == ["offline"]
    assert first[0]["truck_id"] == "KP-01"
    assert again == []


def test_idle_truck_on_shift_is_alerted(app: Flask) -> None:
    _, start, _ = _shift_day(app)
    now = start + timedelta(hours=2)
    runtime = get_runtime(app)
    with runtime.db.write() as session:
        session.add(
            TruckState(
                truck_id="KP-01",
                fix_time=now - timedelta(seconds=30),
                last_moved_at=now - timedelta(minutes=40),
            )
        )
    with runtime.db.write() as session:
        alerts = check(session, runtime.reference.get(), now)
    assert [a["kind"] for a in alerts] == ["idle"]
    assert "40 min" in alerts[0]["message"]


def test_missed_bins_are_alerted_after_the_shift(app: Flask) -> None:
    day, _, end = _shift_day(app)
    runtime = get_runtime(app)
    reference = runtime.reference.get()
    with runtime.db.write() as session:
        during = check(session, reference, end - timedelta(minutes=5))
        after = check(session, reference, end + timedelta(minutes=20))
    assert not [a for a in during if a["route_id"] == "KP-01"]
    missed = [a for a in after if a["kind"] == "missed_bins" and a["route_id"] == "KP-01"]
    assert len(missed) == 1
    installed = sum(
        1 for b in reference.bins.values() if b.route_id == "KP-01" and b.status == "installed"
    )
    assert f"{installed} of {installed} bins missed" in missed[0]["message"]
    assert day.isoformat()
