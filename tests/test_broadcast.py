"""Batched broadcasts (fleet/broadcast.py): one message per flush, each truck at most
about once a second whatever the flush interval, and nothing private on /live."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fleet.broadcast import Broadcaster, LivePosition


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _position(truck: str, progress_m: float, public: bool = True) -> LivePosition:
    return LivePosition(
        truck, "KP-01", -10.17, 123.6, 90.0, 5.0, progress_m, "on_route",
        datetime.now(UTC), public,
    )  # fmt: skip


def _recording() -> tuple[Broadcaster, list[tuple[str, dict[str, Any], str]], Clock]:
    sent: list[tuple[str, dict[str, Any], str]] = []
    clock = Clock()
    broadcaster = Broadcaster(lambda e, d, n: sent.append((e, d, n)), clock=clock)
    return broadcaster, sent, clock


def test_a_truck_moves_at_most_once_per_gap_and_its_newest_position_wins() -> None:
    broadcaster, sent, clock = _recording()
    broadcaster.positions([_position("KP-01", 10.0)])
    broadcaster.flush()
    clock.now += 0.1
    broadcaster.positions([_position("KP-01", 20.0)])
    broadcaster.positions([_position("KP-01", 30.0)])
    broadcaster.flush()
    live = [d for e, d, n in sent if e == "positions" and n == "/live"]
    assert [t["progress_m"] for m in live for t in m["trucks"]] == [10.0]
    clock.now += 0.9
    broadcaster.flush()
    live = [d for e, d, n in sent if e == "positions" and n == "/live"]
    assert [t["progress_m"] for m in live for t in m["trucks"]] == [10.0, 30.0]


def test_other_trucks_are_not_held_back() -> None:
    broadcaster, sent, clock = _recording()
    broadcaster.positions([_position("KP-01", 10.0)])
    broadcaster.flush()
    clock.now += 0.1
    broadcaster.positions([_position("KP-01", 20.0), _position("KP-02", 5.0)])
    broadcaster.flush()
    last = [d for e, d, n in sent if e == "positions" and n == "/live"][-1]
    assert [t["id"] for t in last["trucks"]] == ["KP-02"]


def test_off_shift_trucks_go_to_dispatch_only() -> None:
    broadcaster, sent, _ = _recording()
    broadcaster.positions([_position("KP-09", 1.0, public=False)])
    broadcaster.flush()
    assert [(e, n) for e, _, n in sent] == [("positions", "/dispatch")]
