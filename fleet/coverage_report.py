"""Which bins were due on a WITA day, what became of them, and the day's figures.

Status of a scheduled bin on its date (one of four, decided in ``classify``):

- ``serviced``: some truck's visit on that date is serviced (whenever it was recorded;
  a late backlog upgrades the bin and is counted in ``late_corrections``);
- ``pending``: not serviced and its route's shift has not ended yet;
- ``passed``: not serviced, shift not ended, but a truck drove past it without stopping;
- ``missed``: not serviced when the shift ended. A bin that was only driven past is
  ``missed`` then too, and keeps ``passed=True``: in the counts ``passed`` is a separate
  tally (all unserviced bins driven past, before or after the shift end), so
  ``serviced + missed + pending + (passed before shift end) == scheduled``.

Only installed bins of routes whose ``schedule_days`` include the weekday are
scheduled; planned bins never are. Times are POSIX seconds; shifts are "HH:MM" WITA.
Pure: no Flask, no SQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal

from fleet.coverage import Visit, wita_date
from fleet.fix import WITA

__all__ = [
    "AgeClass",
    "BinAge",
    "BinDay",
    "BinInfo",
    "CoverageCounts",
    "CoverageReport",
    "RouteProgress",
    "RouteSchedule",
    "classify",
    "coverage_report",
    "driven_length_m",
    "scheduled_bins",
    "service_ages",
    "shift_bounds_s",
]

BinDayStatus = Literal["serviced", "passed", "missed", "pending"]
AgeClass = Literal["today", "yesterday", "older", "never", "planned"]
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class RouteSchedule:
    """A route's collection days ("mon".."sun") and shift, in WITA."""

    route_id: str
    schedule_days: tuple[str, ...]
    shift_start: str
    shift_end: str
    kecamatan: str = ""
    length_m: float = 0.0


@dataclass(frozen=True, slots=True)
class BinInfo:
    """A bin as the schedule sees it; ``status`` is "installed" or "planned"."""

    bin_id: str
    route_id: str
    kecamatan: str
    status: str = "installed"


@dataclass(frozen=True, slots=True)
class BinDay:
    """A scheduled bin's outcome on a date; ``truck_id`` serviced it, or drove past it."""

    bin_id: str
    route_id: str
    kecamatan: str
    status: BinDayStatus
    passed: bool
    truck_id: str | None


@dataclass(frozen=True, slots=True)
class CoverageCounts:
    """Bin tallies for one grouping; ``passed`` overlaps ``missed`` after the shift."""

    scheduled: int = 0
    serviced: int = 0
    passed: int = 0
    missed: int = 0
    pending: int = 0
    late_corrections: int = 0

    @property
    def coverage_pct(self) -> float | None:
        """Serviced share of scheduled bins; None when nothing was due."""
        return None if self.scheduled == 0 else 100.0 * self.serviced / self.scheduled


@dataclass(frozen=True, slots=True)
class RouteProgress:
    route_id: str
    driven_m: float
    length_m: float

    @property
    def progress_pct(self) -> float | None:
        return None if self.length_m <= 0 else 100.0 * self.driven_m / self.length_m


@dataclass(frozen=True, slots=True)
class CoverageReport:
    service_date: date
    city: CoverageCounts
    by_route: Mapping[str, CoverageCounts]
    by_truck: Mapping[str, CoverageCounts]
    by_kecamatan: Mapping[str, CoverageCounts]
    progress: Mapping[str, RouteProgress]
    bins: tuple[BinDay, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class BinAge:
    """Time since a bin was last serviced, and its colour class on the map."""

    bin_id: str
    last_serviced_s: float | None
    age_s: float | None
    age_class: AgeClass


def shift_bounds_s(route: RouteSchedule, day: date) -> tuple[float, float]:
    """POSIX start and end of the route's shift on a WITA date (end past midnight if earlier)."""
    start = datetime.combine(day, time.fromisoformat(route.shift_start), WITA)
    end = datetime.combine(day, time.fromisoformat(route.shift_end), WITA)
    if end <= start:
        end += timedelta(days=1)
    return start.timestamp(), end.timestamp()


def scheduled_bins(
    routes: Iterable[RouteSchedule], bins: Iterable[BinInfo], day: date
) -> list[BinInfo]:
    """Installed bins of the routes that collect on ``day``'s weekday."""
    weekday = _WEEKDAYS[day.weekday()]
    due = {
        r.route_id for r in routes if weekday in {d.strip().lower()[:3] for d in r.schedule_days}
    }
    return [b for b in bins if b.route_id in due and b.status == "installed"]


def classify(
    routes: Iterable[RouteSchedule],
    bins: Iterable[BinInfo],
    visits: Iterable[Visit],
    day: date,
    now_s: float,
) -> list[BinDay]:
    """The outcome of every bin scheduled on ``day``, as of ``now_s`` (see module doc)."""
    by_route = {r.route_id: r for r in routes}
    serviced: dict[str, Visit] = {}
    passed: dict[str, Visit] = {}
    for v in visits:
        if v.service_date != day:
            continue
        seen = serviced if v.status == "serviced" else passed
        if v.bin_id not in seen or v.first_time_s < seen[v.bin_id].first_time_s:
            seen[v.bin_id] = v
    out = []
    for b in scheduled_bins(by_route.values(), bins, day):
        over = now_s >= shift_bounds_s(by_route[b.route_id], day)[1]
        was_passed = b.bin_id in passed and b.bin_id not in serviced
        status: BinDayStatus
        who: str | None
        if b.bin_id in serviced:
            status, who = "serviced", serviced[b.bin_id].truck_id
        else:
            status = "missed" if over else "passed" if was_passed else "pending"
            who = passed[b.bin_id].truck_id if was_passed else None
        out.append(BinDay(b.bin_id, b.route_id, b.kecamatan, status, was_passed, who))
    return out


def driven_length_m(length_m: float, intervals: Iterable[tuple[float, float]]) -> float:
    """Metres of a route covered by driven [from_m, to_m] intervals, overlaps merged."""
    spans = sorted((max(0.0, min(a, b)), min(length_m, max(a, b))) for a, b in intervals)
    total, end = 0.0, 0.0
    for lo, hi in spans:
        lo = max(lo, end)
        if hi > lo:
            total += hi - lo
            end = hi
    return total


def coverage_report(
    day: date,
    routes: Iterable[RouteSchedule],
    bins: Iterable[BinInfo],
    visits: Iterable[Visit],
    now_s: float,
    *,
    truck_routes: Mapping[str, str] | None = None,
    driven_intervals: Mapping[str, Iterable[tuple[float, float]]] | None = None,
) -> CoverageReport:
    """The day's figures per route, truck (its assigned route), kecamatan and city.

    ``truck_routes`` maps a truck to the route it was assigned that day (default: the
    route of its visits); a truck's counts are its route's bins. ``late_corrections``
    counts visits recorded after their route's shift end, so a late backlog that moved
    the figures is visible.
    """
    route_list = list(routes)
    by_route = {r.route_id: r for r in route_list}
    bin_list = list(bins)
    visit_list = [v for v in visits if v.service_date == day]
    days = classify(route_list, bin_list, visit_list, day, now_s)
    kecamatan = {b.bin_id: b.kecamatan for b in bin_list}
    assigned = truck_routes or {v.truck_id: v.route_id for v in visit_list}
    trucks_of: dict[str, list[str]] = defaultdict(list)
    for truck_id, route_id in assigned.items():
        trucks_of[route_id].append(truck_id)
    tallies: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 6)
    for d in days:
        keys = [("city", ""), ("route", d.route_id), ("kecamatan", d.kecamatan)]
        keys += [("truck", t) for t in trucks_of[d.route_id]]
        for key in keys:
            _tally(tallies[key], d, d.status == "passed" or (d.passed and d.status == "missed"))
    for v in visit_list:
        route = by_route.get(v.route_id)
        if route is not None and v.recorded_at_s > shift_bounds_s(route, day)[1]:
            keys = [("city", ""), ("route", v.route_id), ("truck", v.truck_id)]
            for key in [*keys, ("kecamatan", kecamatan.get(v.bin_id, ""))]:
                tallies[key][5] += 1
    intervals = driven_intervals or {}
    return CoverageReport(
        day,
        CoverageCounts(*tallies[("city", "")]),
        _group(tallies, "route"),
        _group(tallies, "truck"),
        _group(tallies, "kecamatan"),
        {
            r.route_id: RouteProgress(
                r.route_id, driven_length_m(r.length_m, intervals.get(r.route_id, ())), r.length_m
            )
            for r in route_list
        },
        tuple(days),
    )


def _tally(row: list[int], d: BinDay, passed: bool) -> None:
    row[0] += 1
    row[1] += d.status == "serviced"
    row[2] += passed
    row[3] += d.status == "missed"
    row[4] += d.status == "pending"


def _group(tallies: Mapping[tuple[str, str], list[int]], kind: str) -> dict[str, CoverageCounts]:
    return {name: CoverageCounts(*row) for (k, name), row in tallies.items() if k == kind}


def service_ages(
    bins: Iterable[BinInfo], last_serviced_s: Mapping[str, float], now_s: float
) -> list[BinAge]:
    """Time since each bin's last service, classed by WITA calendar day for the map."""
    today = wita_date(now_s)
    out = []
    for b in bins:
        last = last_serviced_s.get(b.bin_id)
        cls: AgeClass
        if b.status == "planned":
            cls = "planned"
        elif last is None:
            cls = "never"
        else:
            days = (today - wita_date(last)).days
            cls = "today" if days <= 0 else "yesterday" if days == 1 else "older"
        out.append(BinAge(b.bin_id, last, None if last is None else now_s - last, cls))
    return out
