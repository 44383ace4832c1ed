"""Reference layers into the database: an idempotent upsert keyed by each layer's id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fleet.models import BinSite, Kecamatan, Kelurahan, Route, Site, Street, Truck
from fleet.store.upsert import insert_ignore, upsert

__all__ = ["is_empty", "store_reference"]


def is_empty(session: Session) -> bool:
    return not session.scalar(select(func.count()).select_from(Route))


def store_reference(session: Session, data: Any) -> dict[str, int]:
    """Insert or update every feature; running it twice changes nothing the second time."""
    trucks = sorted({r.truck_id for r in data.routes if r.truck_id})
    insert_ignore(session, Truck, [{"id": t, "active": True} for t in trucks])
    layers: list[tuple[str, type[Any], list[dict[str, Any]], str]] = [
        ("kecamatan", Kecamatan, [_kecamatan(k) for k in data.kecamatan], "name"),
        ("kelurahan", Kelurahan, [_kelurahan(k) for k in data.kelurahan], "kode"),
        ("streets", Street, [_street(s) for s in data.streets], "id"),
        ("routes", Route, [_route(r) for r in data.routes], "id"),
        ("bins", BinSite, [_bin(b) for b in data.bins], "id"),
        ("sites", Site, [_site(s) for s in data.sites], "id"),
    ]
    counts = {"trucks": len(trucks)}
    for name, model, rows, key in layers:
        for start in range(0, len(rows), 500):
            upsert(session, model, rows[start : start + 500], [key])
        counts[name] = len(rows)
    return counts


def _kecamatan(k: Any) -> dict[str, Any]:
    return {
        "name": k.name,
        "kode": k.kode,
        "population": k.population,
        "kelurahan": list(k.kelurahan),
        "wkt": k.geometry.wkt,
    }


def _kelurahan(k: Any) -> dict[str, Any]:
    centre = k.geometry.representative_point()
    return {
        "kode": k.kode,
        "name": k.name,
        "kecamatan": k.kecamatan,
        "lat": centre.y,
        "lon": centre.x,
        "wkt": k.geometry.wkt,
    }


def _street(s: Any) -> dict[str, Any]:
    middle = s.geometry.interpolate(0.5, normalized=True)
    return {
        "id": s.street_id,
        "name": s.name,
        "kecamatan": s.kecamatan,
        "kelurahan": s.kelurahan,
        "road_class": s.road_class,
        "synthetic": bool(s.synthetic),
        "lat": middle.y,
        "lon": middle.x,
        "wkt": s.geometry.wkt,
    }


def _route(r: Any) -> dict[str, Any]:
    return {
        "id": r.route_id,
        "name": r.name,
        "kecamatan": r.kecamatan,
        "truck_id": r.truck_id,
        "color": r.color,
        "schedule_days": list(r.schedule_days),
        "shift_start": r.shift_start,
        "shift_end": r.shift_end,
        "length_m": r.length_m,
        "collection_start_m": r.collection_start_m,
        "collection_end_m": r.collection_end_m,
        "wkt": r.geometry.wkt,
    }


def _bin(b: Any) -> dict[str, Any]:
    return {
        "id": b.bin_id,
        "status": b.status,
        "kecamatan": b.kecamatan,
        "kelurahan": b.kelurahan,
        "route_id": b.route_id,
        "progress_m": b.progress_m,
        "street": b.street,
        "lat": b.geometry.y,
        "lon": b.geometry.x,
    }


def _site(s: Any) -> dict[str, Any]:
    return {
        "id": s.site_id,
        "kind": s.kind,
        "name": s.name,
        "kecamatan": s.kecamatan,
        "wkt": s.geometry.wkt,
    }
