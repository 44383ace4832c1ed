"""Coverage of one WITA day: the stored visits and driven stretches, summed up by
``fleet.coverage_report``."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fleet.coverage import Visit
from fleet.coverage_report import BinInfo, CoverageCounts, CoverageReport, RouteSchedule
from fleet.coverage_report import coverage_report as build_report
from fleet.models import BinVisit, SiteVisit
from fleet.reference_cache import Reference
from fleet.store.progress import driven_on
from fleet.visits import visit_from_row

__all__ = ["DayCoverage", "coverage_day", "coverage_json", "trips_on"]

LANDFILL_TARGET_PCT = 15.0


@dataclass(frozen=True)
class DayCoverage:
    report: CoverageReport
    serviced_at: dict[str, datetime]


def coverage_day(
    session: Session,
    reference: Reference,
    day: date,
    now: datetime,
    only: set[str] | None = None,
) -> DayCoverage:
    """The day's report as of ``now``, with when each serviced bin was serviced.

    ``only`` limits it to those routes (their bins, whoever visited them): the
    dashboard's live rows, sent each second for the routes that changed, need no more,
    and a whole day of every route's visits costs a read of thousands of rows.
    """
    routes = [
        RouteSchedule(r.route_id, r.shift.days, r.shift.start, r.shift.end, r.kecamatan, r.length_m)
        for r in reference.routes.values()
        if only is None or r.route_id in only
    ]
    bins = [
        BinInfo(b.bin_id, b.route_id, b.kecamatan, b.status)
        for b in reference.bins.values()
        if only is None or b.route_id in only
    ]
    visits = _visits(session, day, None if only is None else [b.bin_id for b in bins])
    driven: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for row in driven_on(session, day):
        if only is None or row.route_id in only:
            driven[row.route_id] += [(a, b) for a, b in row.driven]
    trucks = {r.truck_id: r.route_id for r in reference.routes.values() if r.truck_id}
    report = build_report(
        day, routes, bins, visits, now.timestamp(), truck_routes=trucks, driven_intervals=driven
    )
    serviced: dict[str, datetime] = {}
    for v in visits:
        if v.status == "serviced":
            t = datetime.fromtimestamp(v.last_time_s, now.tzinfo)
            serviced[v.bin_id] = min(serviced.get(v.bin_id, t), t)
    return DayCoverage(report, serviced)


def _visits(session: Session, day: date, bin_ids: list[str] | None = None) -> list[Visit]:
    query = select(BinVisit).where(BinVisit.service_date == day)
    if bin_ids is not None:
        query = query.where(BinVisit.bin_id.in_(bin_ids))
    return [visit_from_row(r) for r in session.scalars(query)]


def _counts(counts: CoverageCounts, **keys: Any) -> dict[str, Any]:
    pct = counts.coverage_pct
    return {
        **keys,
        "scheduled": counts.scheduled,
        "serviced": counts.serviced,
        "passed": counts.passed,
        "missed": counts.missed,
        "pending": counts.pending,
        "late_corrections": counts.late_corrections,
        "coverage_pct": None if pct is None else round(pct, 1),
    }


def coverage_json(day_coverage: DayCoverage, trips: dict[str, Any]) -> dict[str, Any]:
    """The JSON of ``GET /api/v1/coverage``."""
    report = day_coverage.report
    routes = []
    for route_id, counts in sorted(report.by_route.items()):
        p = report.progress[route_id]
        routes.append(
            {
                **_counts(counts, route_id=route_id),
                "progress_km": round(p.driven_m / 1000.0, 2),
                "length_km": round(p.length_m / 1000.0, 2),
            }
        )
    driven = sum(p.driven_m for p in report.progress.values() if p.route_id in report.by_route)
    length = sum(p.length_m for p in report.progress.values() if p.route_id in report.by_route)
    city = _counts(report.city)
    city.update(progress_km=round(driven / 1000.0, 2), length_km=round(length / 1000.0, 2))
    return {
        "date": report.service_date.isoformat(),
        "city": city,
        "routes": routes,
        "trucks": [_counts(c, truck_id=t) for t, c in sorted(report.by_truck.items())],
        "kecamatan": [_counts(c, kecamatan=k) for k, c in sorted(report.by_kecamatan.items())],
        "trips": trips,
    }


def trips_on(session: Session, day: date) -> dict[str, Any]:
    """Disposal trips per truck, and the share that went to TPA Alak against 15 %."""
    rows = session.scalars(
        select(SiteVisit).where(
            SiteVisit.service_date == day, SiteVisit.kind.in_(("processing", "landfill"))
        )
    ).all()
    per_truck: dict[str, dict[str, int]] = defaultdict(lambda: {"processing": 0, "landfill": 0})
    for row in rows:
        per_truck[row.truck_id][row.kind] += 1
    total = sum(sum(c.values()) for c in per_truck.values())
    landfill = sum(c["landfill"] for c in per_truck.values())
    return {
        "total": total,
        "landfill": landfill,
        "landfill_pct": round(100.0 * landfill / total, 1) if total else None,
        "target_landfill_pct": LANDFILL_TARGET_PCT,
        "trucks": [{"truck_id": t, **c} for t, c in sorted(per_truck.items())],
    }
