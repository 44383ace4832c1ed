"""The public API: reference layers, live trucks and bin service, no private fields."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, send_from_directory
from sqlalchemy import select

from fleet import geojson
from fleet.broadcast import live_position, position_payload
from fleet.coverage_report import BinInfo, service_ages
from fleet.models import Kecamatan, Kelurahan, Site, Street
from fleet.reference_cache import Reference
from fleet.runtime import get_runtime
from fleet.store.queries import last_service, live_states

__all__ = ["bp"]

bp = Blueprint("public", __name__)


@bp.get("/")
def index() -> Response:
    return send_from_directory(current_app.static_folder or "static", "index.html")


@bp.get("/api/v1/config")
def config() -> Response:
    c = current_app.config
    return jsonify(
        tile_url=c["TILE_URL"],
        tile_attribution=c["TILE_ATTRIBUTION"],
        center=[-10.1772, 123.6070],
        zoom=13,
        time_zone=c["LOCAL_TZ"],
    )


@bp.get("/api/v1/routes")
def routes() -> Response:
    reference = get_runtime().reference.get()
    return jsonify(reference.cached("routes", lambda: _routes(reference)))


def _routes(reference: Reference) -> dict[str, Any]:
    features = [
        geojson.feature(
            geojson.from_wkt(r.wkt),
            {
                "route_id": r.route_id,
                "truck_id": r.truck_id,
                "name": r.name,
                "kecamatan": r.kecamatan,
                "color": r.color,
                "length_m": round(r.length_m, 1),
                "schedule_days": list(r.shift.days),
                "shift_start": r.shift.start,
                "shift_end": r.shift.end,
            },
        )
        for r in sorted(reference.routes.values(), key=lambda r: r.route_id)
    ]
    return geojson.collection(features)


@bp.get("/api/v1/bins")
def bins() -> Response:
    """Every bin site with its status and how long since it was last serviced."""
    runtime = get_runtime()
    reference = runtime.reference.get()
    with runtime.db.read() as session:
        serviced = last_service(session)
    sites = sorted(reference.bins.values(), key=lambda b: b.bin_id)
    ages = service_ages(
        [BinInfo(b.bin_id, b.route_id, b.kecamatan, b.status) for b in sites],
        {bin_id: t.timestamp() for bin_id, t in serviced.items()},
        datetime.now(UTC).timestamp(),
    )
    features = []
    for b, age in zip(sites, ages, strict=True):
        last = serviced.get(b.bin_id)
        features.append(
            geojson.feature(
                geojson.point(b.lon, b.lat),
                {
                    "bin_id": b.bin_id,
                    "status": b.status,
                    "route_id": b.route_id,
                    "kecamatan": b.kecamatan,
                    "kelurahan": b.kelurahan,
                    "last_serviced_at": last.isoformat() if last else None,
                    "service_class": age.age_class,
                },
            )
        )
    return jsonify(geojson.collection(features))


@bp.get("/api/v1/kecamatan")
def kecamatan() -> Response:
    return _layer(
        "kecamatan",
        select(Kecamatan).order_by(Kecamatan.name),
        lambda k: {"name": k.name, "kode": k.kode, "kelurahan": list(k.kelurahan)},
    )


@bp.get("/api/v1/kelurahan")
def kelurahan() -> Response:
    return _layer(
        "kelurahan",
        select(Kelurahan).order_by(Kelurahan.name),
        lambda k: {"name": k.name, "kode": k.kode, "kecamatan": k.kecamatan},
    )


@bp.get("/api/v1/sites")
def sites() -> Response:
    return _layer(
        "sites",
        select(Site).order_by(Site.id),
        lambda s: {"site_id": s.id, "kind": s.kind, "name": s.name, "kecamatan": s.kecamatan},
    )


def _layer(name: str, query: Any, properties: Callable[[Any], dict[str, Any]]) -> Response:
    """A reference layer as GeoJSON, read and converted once per reference snapshot."""
    runtime = get_runtime()

    def build() -> dict[str, Any]:
        with runtime.db.read() as session:
            rows = session.scalars(query).all()
            features = [geojson.feature(geojson.from_wkt(r.wkt), properties(r)) for r in rows]
        return geojson.collection(features)

    return jsonify(runtime.reference.get().cached(name, build))


@bp.get("/api/v1/places")
def places() -> Response:
    """Kelurahan and street names matching ``q``, for residents searching their spot."""
    q = request.args.get("q", "").strip()
    if len(q) < 2:
        return jsonify(places=[])
    pattern = f"%{q[:64].lower()}%"
    with get_runtime().db.read() as session:
        kel = session.execute(
            select(Kelurahan.name, Kelurahan.kecamatan, Kelurahan.lat, Kelurahan.lon)
            .where(Kelurahan.name.ilike(pattern))
            .limit(10)
        ).all()
        streets = session.execute(
            select(Street.name, Street.kecamatan, Street.lat, Street.lon)
            .where(Street.name.ilike(pattern))
            .order_by(Street.name)
            .limit(40)
        ).all()
    found = [_place(r, "kelurahan") for r in kel]
    seen: set[str] = set()
    for r in streets:
        if r.name not in seen and len(seen) < 10:
            seen.add(r.name)
            found.append(_place(r, "street"))
    return jsonify(places=found)


def _place(row: Any, kind: str) -> dict[str, Any]:
    return {
        "name": row.name,
        "kind": kind,
        "kecamatan": row.kecamatan,
        "lat": round(row.lat, 6),
        "lon": round(row.lon, 6),
    }


@bp.get("/api/v1/trucks")
def trucks() -> Response:
    """Live positions of trucks on shift: fleet code, route, status; never the device."""
    runtime = get_runtime()
    reference = runtime.reference.get()
    now = datetime.now(UTC)
    with runtime.db.read() as session:
        states = live_states(session)
    features = []
    for state in states:
        position = live_position(state, reference, now)
        if position is not None and position.public:
            payload = position_payload(position)
            features.append(geojson.feature(geojson.point(position.lon, position.lat), payload))
    return jsonify(geojson.collection(features))
