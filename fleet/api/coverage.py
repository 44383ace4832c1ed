"""Coverage for residents and dispatchers: the day's figures, driven stretches, ETA, exports."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy.orm import Session

from fleet import geojson
from fleet.api.errors import error
from fleet.api.params import ParamError, day_param, float_param
from fleet.api.responses import attachment
from fleet.eta import estimate
from fleet.geo import to_metric
from fleet.models import TruckState
from fleet.reference_cache import Reference
from fleet.runtime import get_runtime
from fleet.store import coverage as coverage_store
from fleet.store.progress import driven_on
from fleet.store.queries import passed_at, recent_speed

__all__ = ["bp", "export_rows"]

bp = Blueprint("coverage", __name__)

SPOT_RADIUS_M = 500.0
PASS_GATE_M = 60.0
FRESH_FIX = timedelta(minutes=15)


@bp.get("/api/v1/coverage")
def coverage() -> Response:
    runtime = get_runtime()
    reference = runtime.reference.get()
    day = day_param(reference)
    with runtime.db.read() as session:
        day_coverage = coverage_store.coverage_day(session, reference, day, datetime.now(UTC))
        trips = coverage_store.trips_on(session, day)
    return jsonify(coverage_store.coverage_json(day_coverage, trips))


def export_rows(reference: Reference, day: date) -> list[dict[str, Any]]:
    """One row per scheduled bin: its state that day, when and by which truck."""
    runtime = get_runtime()
    with runtime.db.read() as session:
        day_coverage = coverage_store.coverage_day(session, reference, day, datetime.now(UTC))
    rows = []
    for s in day_coverage.report.bins:
        b = reference.bins[s.bin_id]
        serviced_at = day_coverage.serviced_at.get(s.bin_id)
        rows.append(
            {
                "bin_id": s.bin_id,
                "route_id": s.route_id,
                "kecamatan": b.kecamatan,
                "kelurahan": b.kelurahan,
                "state": s.status,
                "passed_not_stopped": s.passed,
                "serviced_at": serviced_at.isoformat() if serviced_at else "",
                "truck_id": s.truck_id or "",
                "lat": b.lat,
                "lon": b.lon,
            }
        )
    return rows


@bp.get("/api/v1/coverage/export")
def export() -> Response:
    reference = get_runtime().reference.get()
    day = day_param(reference)
    fmt = request.args.get("format", "csv")
    if fmt not in ("csv", "geojson", "gpkg"):  # before the day's report is computed
        raise ParamError("format", "expected csv, geojson or gpkg")
    rows = export_rows(reference, day)
    name = f"coverage-{day.isoformat()}"
    if fmt == "csv":
        return attachment(_csv(rows), "text/csv", f"{name}.csv")
    if fmt == "geojson":
        body = json.dumps(_feature_collection(rows))
        return attachment(body, "application/geo+json", f"{name}.geojson")
    return attachment(_gpkg(rows), "application/geopackage+sqlite3", f"{name}.gpkg")


def _csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    fields = list(rows[0]) if rows else ["bin_id", "route_id", "state"]
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _feature_collection(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return geojson.collection(
        geojson.feature(
            geojson.point(r["lon"], r["lat"]),
            {k: v for k, v in r.items() if k not in ("lat", "lon")},
        )
        for r in rows
    )


def _gpkg(rows: list[dict[str, Any]]) -> bytes:
    import geopandas as gpd

    frame = gpd.GeoDataFrame.from_features(_feature_collection(rows)["features"], crs=4326)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "coverage.gpkg"
        frame.to_file(path, layer="bins", driver="GPKG")
        return path.read_bytes()


@bp.get("/api/v1/driven")
def driven() -> Response:
    """Stretches of each route driven on the day, for the map's 'done' styling."""
    runtime = get_runtime()
    reference = runtime.reference.get()
    day = day_param(reference)
    with runtime.db.read() as session:
        rows = driven_on(session, day)
    merged: dict[str, list[list[float]]] = {}
    for row in rows:
        merged.setdefault(row.route_id, []).extend(row.driven)
    network = reference.network()
    features = []
    for route_id, intervals in sorted(merged.items()):
        if route_id not in network:
            continue
        geometry = network[route_id]
        lines = [list(geometry.stretch(a, b).coords) for a, b in intervals if b > a]
        features.append(
            geojson.feature(
                {"type": "MultiLineString", "coordinates": _rounded(lines)},
                {
                    "route_id": route_id,
                    "driven_m": round(sum(b - a for a, b in intervals), 1),
                    "length_m": round(geometry.length_m, 1),
                },
            )
        )
    return jsonify(geojson.collection(features))


def _rounded(lines: list[list[tuple[float, ...]]]) -> list[list[list[float]]]:
    return [[[round(c[0], 6), round(c[1], 6)] for c in line] for line in lines]


@bp.get("/api/v1/eta")
def eta() -> Response:
    """Which route serves a spot, whether its truck passed today, and when it will come."""
    runtime = get_runtime()
    reference = runtime.reference.get()
    lat = float_param("lat", -90, 90)
    lon = float_param("lon", -180, 180)
    found = _nearest_route(reference, lon, lat)
    if found is None:
        return error(404, "no collection route within 500 m of this spot")
    route_id, distance_m, spot_m = found
    route = reference.routes[route_id]
    now = datetime.now(UTC)
    today = now.astimezone(reference.tz).date()
    with runtime.db.read() as session:
        intervals = [
            iv for row in driven_on(session, today) if row.route_id == route_id for iv in row.driven
        ]
        truck_m, speed = _truck_progress(session, route.truck_id, now)
        result = estimate(spot_m, intervals, truck_m, speed)
        passed_time = (
            passed_at(session, route.truck_id or "", today, reference.tz, result.target_m)
            if result.passed and result.target_m is not None
            else None
        )
    eta_at = (
        now + timedelta(seconds=result.seconds) if result.seconds and not result.passed else None
    )
    return jsonify(
        route_id=route_id,
        truck_id=route.truck_id,
        route_color=route.color,
        distance_m=round(distance_m, 1),
        scheduled_today=route.shift.runs_on(today),
        shift_start=route.shift.start,
        shift_end=route.shift.end,
        passed_today=result.passed,
        passed_at=passed_time.isoformat() if passed_time else None,
        eta=eta_at.isoformat() if eta_at else None,
        eta_minutes=round(result.seconds / 60.0) if eta_at and result.seconds is not None else None,
    )


def _truck_progress(
    session: Session, truck_id: str | None, now: datetime
) -> tuple[float | None, float | None]:
    """Where the truck is along its route and how fast it progresses, if its fix is fresh
    (a position older than a quarter of an hour says nothing about when it will come)."""
    state = None if truck_id is None else session.get(TruckState, truck_id)
    if state is None or state.fix_time is None or now - state.fix_time >= FRESH_FIX:
        return None, None
    return state.progress_m, recent_speed(session, state.truck_id, now)


def _nearest_route(
    reference: Reference, lon: float, lat: float
) -> tuple[str, float, list[float]] | None:
    """The closest route within 500 m, and the spot's measures along each of its passes."""
    import numpy as np

    x, y = to_metric(lon, lat)
    xs, ys = np.atleast_1d(x).astype(float), np.atleast_1d(y).astype(float)
    network = reference.network()
    best: tuple[str, float] | None = None
    for route_id in reference.routes:
        if route_id not in network:
            continue
        found = network[route_id].distance_m(xs, ys)
        if found.size == 0:
            continue
        d = float(found[0])
        if d <= SPOT_RADIUS_M and (best is None or d < best[1]):
            best = (route_id, d)
    if best is None:
        return None
    gate = max(PASS_GATE_M, best[1] + 20.0)
    cands = network[best[0]].candidates(xs, ys, gate)
    return best[0], best[1], sorted(float(m) for m in cands.progress_m)
