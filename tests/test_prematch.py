"""Matching before the write lock (fleet/prematch.py): used only while still current."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fleet.fix import Fix
from fleet.models import TruckState
from fleet.prematch import Prematched
from fleet.store.pings import Queued

T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


def _state(**changes: Any) -> TruckState:
    fields: dict[str, Any] = {
        "truck_id": "KP-01",
        "route_id": "KP-01",
        "fix_time": T0,
        "matcher": {"progress_m": 120.0},
    }
    return TruckState(**{**fields, **changes})


def _queued(*ids: int) -> list[Queued]:
    return [Queued(i, 100 + i, Fix(T0 + timedelta(seconds=i), -10.17, 123.6)) for i in ids]


def _prematched() -> tuple[Prematched, Any]:
    match: Any = object()  # stands for the TraceMatch; take hands it back as it is
    return Prematched({"KP-01": _state()}, {"KP-01": _queued(1, 2, 3)}, {"KP-01": match}), match


def test_a_current_prematch_is_taken_with_the_pings_it_covers() -> None:
    prematched, match = _prematched()
    taken = prematched.take(_state(), [1, 2, 3])
    assert taken is not None and taken[0] is match
    assert [q.queue_id for q in taken[1]] == [1, 2, 3]


def test_pings_queued_behind_the_prematch_wait_for_the_next_round() -> None:
    prematched, _ = _prematched()
    taken = prematched.take(_state(), [1, 2, 3, 7, 8])
    assert taken is not None and [q.queue_id for q in taken[1]] == [1, 2, 3]


def test_a_late_fix_ahead_in_the_queue_or_a_processed_ping_drops_the_prematch() -> None:
    prematched, _ = _prematched()
    assert prematched.take(_state(), [9, 1, 2, 3]) is None
    assert prematched.take(_state(), [2, 3]) is None


def test_a_state_moved_by_another_round_drops_the_prematch() -> None:
    prematched, _ = _prematched()
    assert prematched.take(_state(fix_time=T0 + timedelta(seconds=1)), [1, 2, 3]) is None
    assert prematched.take(_state(matcher={"progress_m": 150.0}), [1, 2, 3]) is None
    assert prematched.take(_state(route_id="KP-02"), [1, 2, 3]) is None
    assert prematched.take(_state(truck_id="KP-02"), [1, 2, 3]) is None
