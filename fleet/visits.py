"""The coverage step of the pipeline: bins serviced or passed, stored per truck and day.

Each ping looks only at the bins near the move from the previous fix (through the
route's bin index), folds what it saw into that day's visit rows and reports the bins
whose service changed, so the map can recolour them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from fleet.broadcast import BinUpdate
from fleet.coverage import (
    BinIndex,
    CoverageConfig,
    TrackPoint,
    Visit,
    VisitPass,
    merge_visit,
    observe_segment,
    wita_date,
)
from fleet.coverage_report import BinInfo as ReportBin
from fleet.coverage_report import service_ages
from fleet.geo import to_metric
from fleet.models import BinVisit
from fleet.reference_cache import BinInfo, Reference
from fleet.store.upsert import upsert
from fleet.tracking import SnappedFix, Track

__all__ = ["build_bin_index", "record_visits", "visit_from_row", "visit_row"]


def build_bin_index(bins: Sequence[BinInfo]) -> BinIndex:
    """Index installed bins in metres; planned bins are never serviced."""
    installed = [b for b in bins if b.status == "installed"]
    x, y = to_metric([b.lon for b in installed], [b.lat for b in installed])
    return BinIndex.from_arrays(
        [b.bin_id for b in installed], [b.route_id for b in installed], x, y
    )


def coverage_config(reference: Reference) -> CoverageConfig:
    return CoverageConfig(radius_m=reference.config["BIN_RADIUS_M"])


def record_visits(
    session: Session,
    reference: Reference,
    truck_id: str,
    track: Track,
    received_at: datetime,
) -> list[BinUpdate]:
    """Fold the fixes' bin observations into ``bin_visits``; return newly serviced bins."""
    route = reference.route_for_truck(truck_id)
    if route is None or not track.fixes:
        return []
    config = coverage_config(reference)
    everything = [track.previous, *track.fixes] if track.previous else list(track.fixes)
    points = _track_points(everything)
    prev = points[0] if track.previous else None
    observations = []
    for cur in points[1:] if track.previous else points:
        observations += observe_segment(reference.bin_index(), route.route_id, prev, cur, config)
        prev = cur
    if not observations:
        return []
    return _fold(session, truck_id, observations, config, received_at)


def _fold(
    session: Session, truck_id: str, observations: list[Any], config: CoverageConfig, now: datetime
) -> list[BinUpdate]:
    keys = {(o.bin_id, wita_date(o.t_first_s)) for o in observations}
    visits = _load(session, truck_id, keys)
    before = {k: v.status for k, v in visits.items()}
    for obs in observations:
        key = (obs.bin_id, wita_date(obs.t_first_s))
        visits[key] = merge_visit(
            visits.get(key), obs, config, truck_id=truck_id, recorded_at_s=now.timestamp()
        )
    rows = [visit_row(v, now) for v in visits.values()]
    upsert(session, BinVisit, rows, ["bin_id", "truck_id", "service_date"])
    changed = [
        v for k, v in visits.items() if v.status == "serviced" and before.get(k) != "serviced"
    ]
    ages = service_ages(
        [ReportBin(v.bin_id, v.route_id, "") for v in changed],
        {v.bin_id: v.last_time_s for v in changed},
        now.timestamp(),
    )
    return [
        BinUpdate(v.bin_id, _utc(v.last_time_s), age.age_class)
        for v, age in zip(changed, ages, strict=True)
    ]


def _load(session: Session, truck_id: str, keys: set[tuple[str, date]]) -> dict[Any, Visit]:
    stmt = select(BinVisit).where(
        BinVisit.truck_id == truck_id,
        tuple_(BinVisit.bin_id, BinVisit.service_date).in_(list(keys)),
    )
    return {(r.bin_id, r.service_date): visit_from_row(r) for r in session.scalars(stmt)}


def _track_points(snapped: Sequence[SnappedFix]) -> list[TrackPoint]:
    """On the route, the snapped point is the better position (GPS noise removed)."""
    lon = [s.snap_lon if s.on_route and s.snap_lon is not None else s.fix.lon for s in snapped]
    lat = [s.snap_lat if s.on_route and s.snap_lat is not None else s.fix.lat for s in snapped]
    x, y = to_metric(lon, lat)
    return [
        TrackPoint(s.fix.time.timestamp(), float(xi), float(yi), s.fix.speed_mps)
        for s, xi, yi in zip(snapped, np.asarray(x), np.asarray(y), strict=True)
    ]


def visit_row(v: Visit, now: datetime) -> dict[str, Any]:
    return {
        "bin_id": v.bin_id,
        "truck_id": v.truck_id,
        "route_id": v.route_id,
        "service_date": v.service_date,
        "first_time": _utc(v.first_time_s),
        "last_time": _utc(v.last_time_s),
        "closest_m": v.closest_m,
        "dwell_s": v.dwell_s,
        "min_speed_mps": v.min_speed_mps,
        "status": v.status,
        "evidence": v.evidence(),
        "recorded_at": _utc(v.recorded_at_s),
        "updated_at": now,
    }


def visit_from_row(r: BinVisit) -> Visit:
    passes = tuple(
        VisitPass(
            p["t_first_s"],
            p["t_last_s"],
            p["closest_m"],
            round(p["dwell_s"] * 1000),
            p["min_speed_mps"],
            p["stopped"],
            tuple(p["fix_times_s"]),
            p["fix_count"],
        )
        for p in r.evidence.get("passes", [])
    )
    return Visit(
        r.bin_id,
        r.truck_id,
        r.route_id,
        r.service_date,
        r.first_time.timestamp(),
        r.last_time.timestamp(),
        r.closest_m,
        r.dwell_s,
        r.min_speed_mps,
        "serviced" if r.status == "serviced" else "passed",
        passes,
        r.recorded_at.timestamp(),
    )


def _utc(t_s: float) -> datetime:
    return datetime.fromtimestamp(t_s, UTC)
