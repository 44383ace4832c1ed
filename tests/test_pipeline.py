"""Acceptance (fleet/pipeline.py): many requests stored in one set of statements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask

from fleet.fix import Fix
from fleet.pipeline import Arrival, accept_many
from fleet.runtime import get_runtime
from fleet.store.devices import find_device


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
