"""The geofence step of the pipeline: stays at the depot, processing sites and TPA Alak.

A stay counts once the truck has been inside a site for a minute; it is stored when it
starts to count and completed when the truck leaves, so trips show up during the shift.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import numpy as np
import shapely
from shapely import wkt
from sqlalchemy.orm import Session

from fleet.coverage import wita_date
from fleet.geo import to_metric
from fleet.geofence import Site, SiteIndex, SiteState, SiteVisit, advance_sites, open_visit
from fleet.models import SiteVisit as SiteVisitRow
from fleet.models import TruckState
from fleet.reference_cache import Reference, SiteInfo
from fleet.store.upsert import upsert
from fleet.tracking import SnappedFix

__all__ = ["build_site_index", "record_trips"]


def build_site_index(sites: Sequence[SiteInfo]) -> SiteIndex:
    """Site polygons in metres (EPSG:32751), indexed once."""

    def metric(coords: Any) -> Any:
        return np.column_stack(to_metric(coords[:, 0], coords[:, 1]))

    return SiteIndex.from_sites(
        [
            Site(
                s.site_id, s.name, s.kind, s.kecamatan, shapely.transform(wkt.loads(s.wkt), metric)
            )
            for s in sites
        ]
    )


def record_trips(
    session: Session, reference: Reference, state: TruckState, fixes: Sequence[SnappedFix]
) -> None:
    """Advance the truck's geofence state over its new fixes (never over late ones)."""
    newer = [s for s in fixes if state.fix_time is None or s.fix.time > state.fix_time]
    if not newer:
        return
    index = reference.site_index()
    current = SiteState(**state.geofence) if state.geofence else None
    x, y = to_metric([s.fix.lon for s in newer], [s.fix.lat for s in newer])
    t = [s.fix.time.timestamp() for s in newer]
    current, left = advance_sites(index, current, t, x, y)
    rows: list[dict[str, Any]] = [_row(state.truck_id, visit) for visit in left]
    ongoing = open_visit(index, current)
    if ongoing is not None:
        rows.append(_row(state.truck_id, ongoing))
    state.geofence = asdict(current)
    if rows:
        upsert(session, SiteVisitRow, rows, ["truck_id", "site_id", "entered_at"], ["left_at"])


def _row(truck_id: str, visit: SiteVisit) -> dict[str, Any]:
    entered = datetime.fromtimestamp(visit.enter_s, UTC)
    return {
        "truck_id": truck_id,
        "site_id": visit.site_id,
        "kind": visit.kind,
        "service_date": wita_date(visit.enter_s),
        "entered_at": entered,
        "left_at": None if visit.open else datetime.fromtimestamp(visit.exit_s, UTC),
    }
