"""Recompute a day's bin visits from the stored pings: the correction path.

The per-ping path folds fixes as they arrive; when a day's data was corrected (a device
re-sent its history, bins moved, thresholds changed) dispatchers recompute the whole
WITA day in one vectorized pass per truck and replace that day's visits.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fleet.coverage_day import detect_visits
from fleet.geo import to_metric
from fleet.models import BinVisit, Ping
from fleet.reference_cache import Reference
from fleet.store.queries import day_bounds
from fleet.store.upsert import upsert
from fleet.visits import coverage_config, visit_row

__all__ = ["recompute_day"]


def recompute_day(session: Session, reference: Reference, day: date) -> dict[str, int]:
    """Replace ``day``'s visits with those detected from its pings; counts per status."""
    start, end = day_bounds(day, reference.tz)
    trucks = session.scalars(
        select(Ping.truck_id)
        .where(Ping.fix_time >= start, Ping.fix_time < end)
        .group_by(Ping.truck_id)
    ).all()
    session.execute(delete(BinVisit).where(BinVisit.service_date == day))
    now = datetime.now(UTC)
    counts = {"serviced": 0, "passed": 0}
    for truck_id in trucks:
        route = reference.route_for_truck(truck_id)
        if route is None:
            continue
        rows = session.execute(
            select(
                Ping.fix_time,
                Ping.received_at,
                Ping.lat,
                Ping.lon,
                Ping.snap_lat,
                Ping.snap_lon,
                Ping.on_route,
                Ping.speed_mps,
            )
            .where(Ping.truck_id == truck_id, Ping.fix_time >= start, Ping.fix_time < end)
            .order_by(Ping.fix_time)
        ).all()
        use_snap = [bool(r.on_route) and r.snap_lon is not None for r in rows]
        lon = [r.snap_lon if s else r.lon for r, s in zip(rows, use_snap, strict=True)]
        lat = [r.snap_lat if s else r.lat for r, s in zip(rows, use_snap, strict=True)]
        x, y = to_metric(lon, lat)
        visits = detect_visits(
            reference.bin_index(),
            route.route_id,
            [r.fix_time.timestamp() for r in rows],
            x,
            y,
            np.array([np.nan if r.speed_mps is None else r.speed_mps for r in rows]),
            truck_id=truck_id,
            received_s=[r.received_at.timestamp() for r in rows],
            config=coverage_config(reference),
        )
        visits = [v for v in visits if v.service_date == day]
        upsert(
            session,
            BinVisit,
            [visit_row(v, now) for v in visits],
            ["bin_id", "truck_id", "service_date"],
        )
        for v in visits:
            counts[v.status] += 1
    return counts
