"""The dispatcher dashboard's API: route table, alerts, history, missed bins."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, send_from_directory
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from fleet import geojson
from fleet.api.errors import error
from fleet.api.params import ParamError, day_param
from fleet.api.responses import attachment
from fleet.coverage_report import CoverageCounts
from fleet.extensions import login_required
from fleet.models import BinVisit, Device, Ping
from fleet.reference_cache import Reference
from fleet.runtime import get_runtime
from fleet.status import device_status
from fleet.store import coverage as coverage_store
from fleet.store.alerts import acknowledge, alert_json, recent_alerts
from fleet.store.pings import track
from fleet.store.queries import day_bounds

__all__ = ["bp", "coverage_rows", "route_rows"]

bp = Blueprint("dispatch", __name__)


@bp.get("/dispatch")
@login_required
def dashboard() -> Response:
    return send_from_directory(current_app.static_folder or "static", "dispatch.html")


@bp.get("/api/v1/dispatch/session")
@login_required
def session_info() -> Response:
    return jsonify(user=current_user.username, role=current_user.role, csrf_token=generate_csrf())


@bp.get("/api/v1/dispatch/routes")
@login_required
def routes() -> Response:
    reference = get_runtime().reference.get()
    return jsonify(routes=route_rows(reference, day_param(reference)))


def route_rows(
    reference: Reference, day: Any, only: set[str] | None = None
) -> list[dict[str, Any]]:
    """The dashboard's table: per route, truck, device status, progress and bins."""
    runtime = get_runtime()
    now = datetime.now(UTC)
    config = reference.config
    with runtime.db.read() as session:
        report = coverage_store.coverage_day(session, reference, day, now, only).report
        devices = session.scalars(select(Device).where(Device.enabled.is_(True))).all()
    contact: dict[str, tuple[Any, Any]] = {}
    for d in devices:
        old = contact.get(d.truck_id, (None, None))
        contact[d.truck_id] = (_latest(old[0], d.last_contact_at), _latest(old[1], d.last_fix_at))
    rows = []
    for route in sorted(reference.routes.values(), key=lambda r: r.route_id):
        if only is not None and route.route_id not in only:
            continue
        c = report.by_route.get(route.route_id, CoverageCounts())
        last_contact, last_fix = contact.get(route.truck_id or "", (None, None))
        has_device = (route.truck_id or "") in contact
        status = (
            device_status(last_contact, last_fix, now, config["ONLINE_S"], config["OFFLINE_S"])
            if has_device
            else "none"
        )
        progress = report.progress[route.route_id].progress_pct
        rows.append(
            {
                "route_id": route.route_id,
                "truck_id": route.truck_id,
                "scheduled": route.shift.runs_on(day),
                "device_status": status,
                "progress_pct": round(progress or 0.0, 1),
                "bins_scheduled": c.scheduled,
                "bins_serviced": c.serviced,
                "bins_missed": c.missed,
                "bins_passed": c.passed,
                "bins_pending": c.pending,
                "last_contact": last_contact.isoformat() if last_contact else None,
            }
        )
    return rows


def coverage_rows(route_ids: set[str]) -> list[dict[str, Any]]:
    """Today's table rows of the routes that changed, for the ``coverage`` event."""
    reference = get_runtime().reference.get()
    return route_rows(reference, datetime.now(reference.tz).date(), route_ids)


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max((t for t in (a, b) if t is not None), default=None)


@bp.get("/api/v1/dispatch/alerts")
@login_required
def alerts() -> Response:
    with get_runtime().db.read() as session:
        return jsonify(alerts=[alert_json(a) for a in recent_alerts(session)])


@bp.post("/api/v1/dispatch/alerts/<int:alert_id>/ack")
@login_required
def ack(alert_id: int) -> Response:
    with get_runtime().db.write() as session:
        alert = acknowledge(session, alert_id, current_user.username, datetime.now(UTC))
        if alert is None:
            return error(404, "no such alert")
        return jsonify(alert_json(alert))


@bp.get("/api/v1/dispatch/missed")
@login_required
def missed() -> Response:
    reference = get_runtime().reference.get()
    day = day_param(reference)
    with get_runtime().db.read() as session:
        report = coverage_store.coverage_day(session, reference, day, datetime.now(UTC)).report
    rows = []
    for s in report.bins:
        if s.status == "missed" or s.passed:
            b = reference.bins[s.bin_id]
            rows.append(
                {
                    "bin_id": s.bin_id,
                    "route_id": s.route_id,
                    "state": s.status,
                    "passed_not_stopped": s.passed,
                    "kecamatan": b.kecamatan,
                    "kelurahan": b.kelurahan,
                    "lat": b.lat,
                    "lon": b.lon,
                }
            )
    return jsonify(date=day.isoformat(), missed=rows)


@bp.get("/api/v1/dispatch/bins/<bin_id>/history")
@login_required
def bin_history(bin_id: str) -> Response:
    reference = get_runtime().reference.get()
    if bin_id not in reference.bins:
        return error(404, "no such bin")
    with get_runtime().db.read() as session:
        visits = session.scalars(
            select(BinVisit).where(BinVisit.bin_id == bin_id).order_by(BinVisit.service_date.desc())
        ).all()
        rows = [
            {
                "date": v.service_date.isoformat(),
                "truck_id": v.truck_id,
                "status": v.status,
                "first_time": v.first_time.isoformat(),
                "last_time": v.last_time.isoformat(),
                "closest_m": round(v.closest_m, 1),
                "dwell_s": v.dwell_s,
                "recorded_at": v.recorded_at.isoformat(),
                "evidence": v.evidence,
            }
            for v in visits
        ]
    return jsonify(bin_id=bin_id, visits=rows)


@bp.get("/api/v1/dispatch/history/<truck_id>")
@login_required
def history(truck_id: str) -> Response:
    """A truck's day, for replay, and as GPX, CSV or GeoJSON for export."""
    reference = get_runtime().reference.get()
    if reference.route_for_truck(truck_id) is None:
        return error(404, "no such truck")
    day = day_param(reference)
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "gpx", "csv", "geojson"):
        raise ParamError("format", "expected json, gpx, csv or geojson")
    start, end = day_bounds(day, reference.tz)
    with get_runtime().db.read() as session:
        fixes = [_fix_json(p) for p in track(session, truck_id, start, end)]
    name = f"{truck_id}-{day.isoformat()}"
    if fmt == "json":
        return jsonify(truck_id=truck_id, date=day.isoformat(), fixes=fixes)
    if fmt == "csv":
        out = io.StringIO()
        fields = ["time", "lat", "lon", "speed_kmh", "heading", "progress_m", "on_route"]
        writer = csv.DictWriter(out, fieldnames=fields)
        writer.writeheader()
        writer.writerows(fixes)
        return attachment(out.getvalue(), "text/csv", f"{name}.csv")
    if fmt == "geojson":
        line = {"type": "LineString", "coordinates": [[f["lon"], f["lat"]] for f in fixes]}
        body = geojson.collection(
            [geojson.feature(line if len(fixes) > 1 else None, {"truck_id": truck_id})]
            + [geojson.feature(geojson.point(f["lon"], f["lat"]), f) for f in fixes]
        )
        return attachment(json.dumps(body), "application/geo+json", f"{name}.geojson")
    return attachment(_gpx(truck_id, fixes), "application/gpx+xml", f"{name}.gpx")


def _fix_json(p: Ping) -> dict[str, Any]:
    return {
        "time": p.fix_time.isoformat(),
        "lat": round(p.lat, 6),
        "lon": round(p.lon, 6),
        "speed_kmh": None if p.speed_mps is None else round(p.speed_mps * 3.6, 1),
        "heading": p.heading_deg,
        "progress_m": None if p.progress_m is None else round(p.progress_m, 1),
        "on_route": p.on_route,
    }


def _gpx(truck_id: str, fixes: list[dict[str, Any]]) -> str:
    from xml.sax.saxutils import escape

    points = "".join(
        f'<trkpt lat="{f["lat"]}" lon="{f["lon"]}"><time>{escape(f["time"])}</time></trkpt>'
        for f in fixes
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<gpx version="1.1" creator="Kupang Fleet" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><name>{escape(truck_id)}</name><trkseg>{points}</trkseg></trk></gpx>"
    )
