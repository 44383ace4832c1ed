"""Acceptance (fleet/pipeline.py): many requests stored in one set of statements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from fleet.fix import Fix
from fleet.models import Alert, PendingPing, Ping
from fleet.pipeline import Arrival, accept_many, prematch_round, process_round
from fleet.prematch import prematch
from fleet.runtime import Runtime, get_runtime
from fleet.store.devices import DeviceRef, find_device
from fleet.store.pings import pending_for, read_states


def test_a_fix_sent_twice_in_one_group_is_stored_once(app: Flask, device: str) -> None:
    runtime = get_runtime(app)
    now = datetime.now(UTC)
    fix = Fix(now - timedelta(seconds=30), -10.17, 123.6)
    other = Fix(now - timedelta(seconds=20), -10.17, 123.6)
    with runtime.db.write() as session:
        ref = find_device(session, device)
        assert ref is not None
        first, second = accept_many(
            session,
            [Arrival(ref, [(0, fix)], now), Arrival(ref, [(0, fix), (1, other)], now)],
        )
    assert (first.stored, first.duplicates) == ([0], [])
    assert (second.stored, second.duplicates) == ([1], [0])


def test_stored_fix_reads_back_exactly_and_meets_orm_writes_as_duplicates(
    app: Flask, device: str
) -> None:
    """The bulk insert writes what the ORM writes: same times to the microsecond, so the
    unique key still finds a fix another writer stored first."""
    runtime = get_runtime(app)
    now = datetime.now(UTC)
    moment = (now - timedelta(minutes=3)).replace(microsecond=123456)
    fix = Fix(moment, -10.17, 123.6, speed_mps=4.5, battery_pct=80.0, attributes={"ign": True})
    earlier = now - timedelta(minutes=5)
    with runtime.db.write() as session:
        ref = find_device(session, device)
        assert ref is not None
        session.add(
            Ping(
                device_id=ref.id,
                truck_id=ref.truck_id,
                fix_time=earlier,
                received_at=now,
                lat=-10.2,
                lon=123.5,
            )
        )
        session.flush()
        [result] = accept_many(
            session, [Arrival(ref, [(0, Fix(earlier, -10.2, 123.5)), (1, fix)], now)]
        )
    assert (result.stored, result.duplicates) == ([1], [0])
    with runtime.db.read() as session:
        stored = session.scalars(select(Ping).where(Ping.fix_time == moment)).one()
        queued = session.scalars(select(PendingPing.ping_id)).all()
    assert (stored.fix_time, stored.received_at) == (moment, now)
    assert (stored.speed_mps, stored.heading_deg, stored.battery_pct) == (4.5, None, 80.0)
    assert stored.attributes == {"ign": True}
    assert queued == [stored.id]


def test_a_batch_larger_than_one_statement_is_stored_and_queued_whole(
    app: Flask, device: str
) -> None:
    runtime = get_runtime(app)
    now = datetime.now(UTC)
    fixes = [(i, Fix(now - timedelta(seconds=2000 - i), -10.17, 123.6)) for i in range(1200)]
    with runtime.db.write() as session:
        ref = find_device(session, device)
        assert ref is not None
        [result] = accept_many(session, [Arrival(ref, fixes, now)])
    assert result.stored == list(range(1200))
    with runtime.db.read() as session:
        assert session.scalar(select(func.count()).select_from(PendingPing)) == 1200
        assert session.scalar(select(func.count(func.distinct(Ping.fix_time)))) == 1200


def test_leaving_the_route_within_one_round_raises_one_off_route_alert(
    app: Flask, device: str
) -> None:
    """Fixes on the route and then far from it, processed together (a backlog, a busy
    worker): the departure inside the round still raises the alert, once."""
    runtime = get_runtime(app)
    route = runtime.reference.get().network()["KP-01"]
    lons, lats = route.lonlat_at([500.0, 520.0, 540.0])
    start = datetime.now(UTC) - timedelta(minutes=10)
    on = [Fix(start + timedelta(seconds=10 * i), lats[i], lons[i], speed_mps=2.0) for i in range(3)]
    away = [
        Fix(start + timedelta(seconds=40 + 20 * i), lats[2] + 0.0036 + 0.0002 * i, lons[2], 3.0)
        for i in range(6)
    ]
    with runtime.db.write() as session:
        ref = find_device(session, device)
        assert ref is not None
        accept_many(session, [Arrival(ref, list(enumerate(on + away)), datetime.now(UTC))])
    runtime.worker.drain()
    runtime.worker.drain()
    with runtime.db.read() as session:
        alerts = session.scalars(select(Alert).where(Alert.kind == "off_route")).all()
    assert [(a.truck_id, a.route_id) for a in alerts] == [("KP-01", "KP-01")]


def test_a_late_fix_queued_after_the_prematch_is_processed_in_fix_order(
    app: Flask, device: str
) -> None:
    """The worker matches before it takes the write lock; a late fix that arrives in
    between goes ahead of the matched ones in the queue, so that match is dropped and
    the round matches all four fixes in fix order, as if there had been no prematch."""
    runtime, ref, fixes = _started_truck(app, device, 4)
    reference = runtime.reference.get()
    _store(runtime, ref, fixes[2:])
    with runtime.db.read() as session:
        stale = prematch_round(session, reference, ["KP-01"])
    assert "KP-01" in stale.matches
    _store(runtime, ref, fixes[1:2])
    with runtime.db.read() as session:
        states = read_states(session, ["KP-01"])
        queued = pending_for(session, ["KP-01"], 100)
    expected = prematch(reference, states, queued).matches["KP-01"]
    with runtime.db.write() as session:
        [result] = process_round(session, reference, ["KP-01"], fixes[0].time, prematched=stale)
    with runtime.db.read() as session:
        progress = session.scalars(select(Ping.progress_m).order_by(Ping.fix_time)).all()[1:]
        waiting = session.scalar(select(func.count()).select_from(PendingPing))
    assert (result.processed, waiting) == (4, 0)
    assert progress == pytest.approx(list(expected.progress_m), abs=1e-6)


def test_a_current_prematch_is_used_and_pings_queued_since_wait_a_round(
    app: Flask, device: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under the write lock the round reads only the queue's ids when the match made
    before it still holds; a fix queued after that match waits for the next round."""
    runtime, ref, fixes = _started_truck(app, device, 3)
    reference = runtime.reference.get()
    _store(runtime, ref, fixes[1:3])
    with runtime.db.read() as session:
        current = prematch_round(session, reference, ["KP-01"])
    _store(runtime, ref, fixes[3:])
    reads: list[list[str]] = []

    def counted(session: Any, truck_ids: list[str], limit: int) -> Any:
        reads.append(list(truck_ids))
        return pending_for(session, truck_ids, limit)

    monkeypatch.setattr("fleet.pipeline.ping_store.pending_for", counted)
    with runtime.db.write() as session:
        [result] = process_round(session, reference, ["KP-01"], fixes[0].time, prematched=current)
    with runtime.db.read() as session:
        waiting = session.scalars(select(PendingPing.fix_time)).all()
    assert reads == [[]]  # no truck's pings read again under the lock
    assert result.processed == 2
    assert waiting == [fixes[3].time]


def _started_truck(app: Flask, device: str, more: int) -> tuple[Runtime, DeviceRef, list[Fix]]:
    """KP-01's first fix stored and processed, and ``more`` fixes after it along the
    route (30 m and 10 s apart), not yet stored."""
    runtime = get_runtime(app)
    lons, lats = (
        runtime.reference.get()
        .network()["KP-01"]
        .lonlat_at([270.0 + 30.0 * i for i in range(more + 1)])
    )
    start = datetime.now(UTC) - timedelta(minutes=10)
    fixes = [Fix(start + timedelta(seconds=10 * i), lats[i], lons[i], 3.0) for i in range(more + 1)]
    with runtime.db.read() as session:
        ref = find_device(session, device)
    assert ref is not None
    _store(runtime, ref, fixes[:1])
    runtime.worker.drain()
    return runtime, ref, fixes


def _store(runtime: Runtime, ref: DeviceRef, fixes: list[Fix]) -> None:
    with runtime.db.write() as session:
        accept_many(session, [Arrival(ref, list(enumerate(fixes)), fixes[0].time)])
