"""Coverage of one WITA day, read from visits and driven stretches."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fleet.models import BinVisit, RouteDay, SiteVisit
from fleet.reference_cache import Reference
from fleet.report import BinDay, RouteDayInput, bin_states, summarise

__all__ = ["coverage_day", "day_routes", "day_states", "trips_on", "visits_on"]

LANDFILL_TARGET_PCT = 15.0


def day_routes(session: Session, reference: Reference, day: date) -> list[RouteDayInput]:
    """Routes scheduled on ``day`` with their installed bins and the km driven."""
    driven: dict[str, float] = defaultdict(float)
    for row in session.scalars(select(RouteDay).where(RouteDay.service_date == day)):
        driven[row.route_id] = max(driven[row.route_id], row.driven_m)
    bins_by_route: dict[str, list[str]] = defaultdict(list)
    for b in reference.bins.values():
        if b.status == "installed":
            bins_by_route[b.route_id].append(b.bin_id)
    out = []
    for r in sorted(reference.routes.values(), key=lambda r: r.route_id):
        if not r.shift.runs_on(day):
            continue
        _, end = r.shift.window(day, reference.tz)
        out.append(
            RouteDayInput(
                r.route_id,
                r.truck_id,
                r.kecamatan,
                r.length_m,
                end,
                tuple(sorted(bins_by_route[r.route_id])),
                min(driven[r.route_id], r.length_m),
            )
        )
    return out


def visits_on(session: Session, day: date) -> dict[str, list[BinVisit]]:
    by_bin: dict[str, list[BinVisit]] = defaultdict(list)
    for v in session.scalars(select(BinVisit).where(BinVisit.service_date == day)):
        by_bin[v.bin_id].append(v)
    return by_bin


def day_states(
    session: Session, reference: Reference, day: date, now: datetime
) -> tuple[list[RouteDayInput], list[BinDay]]:
    routes = day_routes(session, reference, day)
    return routes, bin_states(routes, visits_on(session, day), now)


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


def coverage_day(
    session: Session, reference: Reference, day: date, now: datetime
) -> dict[str, Any]:
    """The whole report: per route, truck, kecamatan and city, plus disposal trips."""
    routes, states = day_states(session, reference, day, now)
    report: dict[str, Any] = {"date": day.isoformat(), **summarise(routes, states)}
    report["trips"] = trips_on(session, day)
    return report
