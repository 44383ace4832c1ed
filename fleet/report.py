"""Coverage figures for one WITA day: per bin, then per route, truck, kecamatan and city.

Pure: the caller hands in the day's scheduled routes and bins, the visits and the
driven stretches; this decides each bin's state and adds them up. A bin is
``serviced`` once any visit stopped at it; ``passed`` when trucks only drove by;
``missed`` when not serviced by the end of its shift (passed ones included); before
then it is ``pending``. Planned bins and routes not scheduled that day count nowhere.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["BinDay", "RouteDayInput", "Totals", "bin_states", "summarise"]


@dataclass(frozen=True, slots=True)
class RouteDayInput:
    route_id: str
    truck_id: str | None
    kecamatan: str
    length_m: float
    shift_end: datetime
    bins: tuple[str, ...]
    driven_m: float


@dataclass(frozen=True, slots=True)
class BinDay:
    bin_id: str
    route_id: str
    state: str
    serviced_at: datetime | None
    serviced_by: str | None
    late: bool


@dataclass
class Totals:
    scheduled: int = 0
    serviced: int = 0
    passed: int = 0
    missed: int = 0
    pending: int = 0
    late_corrections: int = 0
    driven_m: float = 0.0
    length_m: float = 0.0
    keys: dict[str, Any] = field(default_factory=dict)

    def add(self, state: str, late: bool) -> None:
        self.scheduled += 1
        if state == "serviced":
            self.serviced += 1
        elif state == "pending":
            self.pending += 1
        else:
            self.missed += 1
            self.passed += state == "passed"
        self.late_corrections += late

    def as_json(self) -> dict[str, Any]:
        pct = 100.0 * self.serviced / self.scheduled if self.scheduled else None
        return {
            **self.keys,
            "scheduled": self.scheduled,
            "serviced": self.serviced,
            "passed": self.passed,
            "missed": self.missed,
            "pending": self.pending,
            "late_corrections": self.late_corrections,
            "coverage_pct": None if pct is None else round(pct, 1),
            "progress_km": round(self.driven_m / 1000.0, 2),
            "length_km": round(self.length_m / 1000.0, 2),
        }


def bin_states(
    routes: Iterable[RouteDayInput], visits: Mapping[str, Sequence[Any]], now: datetime
) -> list[BinDay]:
    """Each scheduled bin's state; ``visits`` maps bin id to rows with status, last_time,
    truck_id and recorded_at."""
    out = []
    for route in routes:
        over = now >= route.shift_end
        for bin_id in route.bins:
            rows = visits.get(bin_id, ())
            done = [v for v in rows if v.status == "serviced"]
            first = min(done, key=lambda v: v.last_time) if done else None
            if first is not None:
                late = first.recorded_at > route.shift_end
                out.append(
                    BinDay(
                        bin_id, route.route_id, "serviced", first.last_time, first.truck_id, late
                    )
                )
                continue
            state = "pending" if not over else "passed" if rows else "missed"
            out.append(BinDay(bin_id, route.route_id, state, None, None, False))
    return out


def summarise(
    routes: Sequence[RouteDayInput], states: Sequence[BinDay]
) -> dict[str, list[dict[str, Any]] | dict[str, Any]]:
    """Totals per route, truck, kecamatan and for the city."""
    by_route = {r.route_id: r for r in routes}
    groups: dict[str, dict[str, Totals]] = defaultdict(dict)
    city = Totals()
    for r in routes:
        for level, key in (
            ("routes", r.route_id),
            ("trucks", r.truck_id or "-"),
            ("kecamatan", r.kecamatan),
        ):
            t = groups[level].setdefault(key, Totals(keys={_KEY[level]: key}))
            t.driven_m += r.driven_m
            t.length_m += r.length_m
        city.driven_m += r.driven_m
        city.length_m += r.length_m
    for s in states:
        r = by_route[s.route_id]
        for level, key in (
            ("routes", r.route_id),
            ("trucks", r.truck_id or "-"),
            ("kecamatan", r.kecamatan),
        ):
            groups[level][key].add(s.state, s.late)
        city.add(s.state, s.late)
    result: dict[str, Any] = {
        level: [groups[level][k].as_json() for k in sorted(groups[level])]
        for level in ("routes", "trucks", "kecamatan")
    }
    result["city"] = city.as_json()
    return result


_KEY = {"routes": "route_id", "trucks": "truck_id", "kecamatan": "kecamatan"}
