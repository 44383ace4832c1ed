"""The OpenAPI 3.1 document of the HTTP API, served at ``GET /api/v1/openapi.json``.

Written in Python beside the code rather than generated from it, so that it states the
contract (what a device author or map embedder may rely on) and tests can hold the
implementation to it. Socket.IO has no place in OpenAPI; its namespaces, events and
payloads are in the ``x-socketio`` extension.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from fleet.api._openapi_schemas import COMPONENTS, JSON, array, obj, ref

__all__ = ["bp", "document"]

bp = Blueprint("openapi", __name__)

_DESCRIPTION = """\
Live positions of Kota Kupang's garbage trucks and the service of its bins.

Devices send fixes over the OsmAnd protocol (`/osmand`, as Traccar's apps do) or in
batches (`POST /api/v1/pings`). Times are ISO-8601 with offset; dates are local days in
WITA (Asia/Makassar, UTC+8). GeoJSON is WGS84 in lon, lat order. Every error is JSON
`{"error", "field"?}`; 429 and 503 carry `Retry-After`.

Live updates use Socket.IO (see `x-socketio`): namespace `/live` (public: `positions`,
`bins`, `driven`) and `/dispatch` (signed-in dispatchers: `positions`, `alert`,
`coverage`).
"""

_PUBLIC = "public"
_DEVICES = "devices"
_DISPATCH = "dispatch"
_SESSION: list[JSON] = [{"dispatcherSession": []}]


def _query(name: str, schema: JSON, description: str = "", required: bool = False) -> JSON:
    param: JSON = {"name": name, "in": "query", "required": required, "schema": schema}
    if description:
        param["description"] = description
    return param


def _path(name: str, description: str) -> JSON:
    schema = {"type": "string", "minLength": 1, "maxLength": 64}
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema,
        "description": description,
    }


_DATE = _query("date", {"type": "string", "format": "date"}, "local (WITA) day; default today")


def _json(description: str, schema: JSON) -> JSON:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*names: str) -> dict[str, JSON]:
    codes = {
        "BadRequest": "400",
        "Unauthorized": "401",
        "NotFound": "404",
        "TooLarge": "413",
        "TooManyRequests": "429",
        "Unavailable": "503",
    }
    return {codes[name]: ref(name, "responses") for name in names}


def _op(
    operation_id: str,
    tag: str,
    summary: str,
    responses: dict[str, JSON],
    params: list[JSON] | None = None,
    **extra: Any,
) -> JSON:
    """One operation; every one can meet a database that is away (503)."""
    operation: JSON = {
        "operationId": operation_id,
        "tags": [tag],
        "summary": summary,
        "responses": responses | _errors("Unavailable"),
    }
    if params:
        operation["parameters"] = params
    return operation | extra


def _layer(operation_id: str, summary: str, schema: str) -> JSON:
    return {"get": _op(operation_id, _PUBLIC, summary, {"200": _json(summary, ref(schema))})}


def _osmand_params() -> list[JSON]:
    text = {"type": "string", "maxLength": 128}
    num = {"type": "number"}
    return [
        _query("id", text, "device identifier"),
        _query("deviceid", text, "device identifier (older clients)"),
        _query("timestamp", {"type": "string"}, "epoch s/ms, ISO-8601 or `yyyy-MM-dd HH:mm:ss`"),
        _query("lat", {"type": "number", "minimum": -90, "maximum": 90}),
        _query("lon", {"type": "number", "minimum": -180, "maximum": 180}),
        _query("location", {"type": "string"}, "`lat,lon` instead of lat and lon"),
        _query("speed", num | {"minimum": 0}, "knots"),
        _query("bearing", num | {"minimum": 0, "maximum": 360}, "degrees"),
        _query("heading", num | {"minimum": 0, "maximum": 360}, "degrees"),
        _query("altitude", num, "metres"),
        _query("accuracy", num | {"minimum": 0}, "metres"),
        _query("batt", num | {"minimum": 0, "maximum": 100}, "percent"),
        _query("hdop", num | {"minimum": 0}),
    ]


def _osmand(method: str) -> JSON:
    form = obj(**{p["name"]: p["schema"] for p in _osmand_params()})
    body = {
        "required": False,
        "content": {
            "application/x-www-form-urlencoded": {"schema": form},
            "application/json": {"schema": ref("TraccarLocation")},
        },
    }
    unknown = _json("Unknown or disabled device (JSON mode)", ref("Error"))
    responses = {"200": {"description": "Committed (empty body); no coordinates: heartbeat"}}
    responses |= _errors("BadRequest", "TooLarge", "TooManyRequests") | {"404": unknown}
    extra = {} if method == "get" else {"requestBody": body}
    summary = "One fix or heartbeat over the OsmAnd protocol (query, form or JSON)"
    return _op(f"osmand_{method}", _DEVICES, summary, responses, _osmand_params(), **extra)


def _pings() -> JSON:
    body = array(ref("PingFix"), maxItems=1000)
    responses = {"200": _json("Per-fix outcome", ref("PingsResult"))}
    responses |= _errors("BadRequest", "Unauthorized", "TooLarge", "TooManyRequests")
    return _op(
        "pings",
        _DEVICES,
        "A batch of buffered fixes, each accepted or rejected on its own",
        responses,
        requestBody={"required": True, "content": {"application/json": {"schema": body}}},
        security=[{"deviceBearer": []}],
    )


def _public_paths() -> dict[str, JSON]:
    lat = _query("lat", {"type": "number", "minimum": -90, "maximum": 90}, required=True)
    lon = _query("lon", {"type": "number", "minimum": -180, "maximum": 180}, required=True)
    formats = {"type": "string", "enum": ["csv", "geojson", "gpkg"], "default": "csv"}
    exports = {
        "description": "The day's per-bin coverage as a file",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/geo+json": {"schema": {"type": "object"}},
            "application/geopackage+sqlite3": {"schema": {"type": "string", "format": "binary"}},
        },
    }
    q = _query("q", {"type": "string", "maxLength": 200}, "two letters or more")
    return {
        "/api/v1/config": _layer("config", "Map settings", "Config"),
        "/api/v1/routes": _layer("routes", "Planned collection routes", "Routes"),
        "/api/v1/bins": _layer("bins", "Bin locations and their last service", "Bins"),
        "/api/v1/kecamatan": _layer("kecamatan", "District boundaries", "Kecamatan"),
        "/api/v1/kelurahan": _layer("kelurahan", "Village boundaries", "Kelurahan"),
        "/api/v1/sites": _layer("sites", "Depots, landfill and processing sites", "Sites"),
        "/api/v1/trucks": _layer("trucks", "Trucks on shift, newest fix each", "Trucks"),
        "/api/v1/places": {
            "get": _op(
                "places",
                _PUBLIC,
                "Search kelurahan and streets",
                {"200": _json("Matches", ref("Places"))},
                [q],
            )
        },
        "/api/v1/eta": {
            "get": _op(
                "eta",
                _PUBLIC,
                "When the truck comes past a spot",
                {
                    "200": _json("The nearest route's truck", ref("Eta")),
                }
                | _errors("BadRequest", "NotFound"),
                [lat, lon],
            )
        },
        "/api/v1/driven": {
            "get": _op(
                "driven",
                _PUBLIC,
                "Stretches driven on a day",
                {
                    "200": _json("Driven stretches", ref("Driven")),
                }
                | _errors("BadRequest"),
                [_DATE],
            )
        },
        "/api/v1/coverage": {
            "get": _op(
                "coverage",
                _PUBLIC,
                "Coverage report of a day",
                {
                    "200": _json("City, route, truck and kecamatan totals", ref("Coverage")),
                }
                | _errors("BadRequest"),
                [_DATE],
            )
        },
        "/api/v1/coverage/export": {
            "get": _op(
                "coverage_export",
                _PUBLIC,
                "Export a day",
                {
                    "200": exports,
                }
                | _errors("BadRequest"),
                [_DATE, _query("format", formats)],
            )
        },
    }


def _dispatch(operation_id: str, summary: str, ok: JSON, *errors: str, **extra: Any) -> JSON:
    responses = {"200": ok} | _errors("Unauthorized", *errors)
    return _op(operation_id, _DISPATCH, summary, responses, security=_SESSION, **extra)


def _dispatch_paths() -> dict[str, JSON]:
    base = "/api/v1/dispatch"
    csrf = {"name": "X-CSRFToken", "in": "header", "required": True, "schema": {"type": "string"}}
    alert_id = {"name": "alert_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    formats = {"type": "string", "enum": ["json", "gpx", "csv", "geojson"], "default": "json"}
    history = {
        "description": "The truck's fixes of the day",
        "content": {
            "application/json": {"schema": ref("History")},
            "application/gpx+xml": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
            "application/geo+json": {"schema": {"type": "object"}},
        },
    }
    truck = _path("truck_id", "fleet code, e.g. KP-01")
    return {
        f"{base}/session": {
            "get": _dispatch(
                "dispatch_session",
                "Who is signed in, and the CSRF token",
                _json("The session", ref("Session")),
            )
        },
        f"{base}/routes": {
            "get": _dispatch(
                "dispatch_routes",
                "Every route's progress",
                _json("Rows", ref("RouteStatuses")),
                "BadRequest",
                parameters=[_DATE],
            )
        },
        f"{base}/alerts": {
            "get": _dispatch("dispatch_alerts", "Recent alerts", _json("Alerts", ref("Alerts")))
        },
        f"{base}/alerts/{{alert_id}}/ack": {
            "post": _dispatch(
                "dispatch_ack",
                "Acknowledge an alert",
                _json("The alert", ref("Alert")),
                "BadRequest",
                "NotFound",
                parameters=[alert_id, csrf],
            )
        },
        f"{base}/history/{{truck_id}}": {
            "get": _dispatch(
                "dispatch_history",
                "A truck's track of a day",
                history,
                "BadRequest",
                "NotFound",
                parameters=[truck, _DATE, _query("format", formats)],
            )
        },
        f"{base}/missed": {
            "get": _dispatch(
                "dispatch_missed",
                "Bins missed on a day",
                _json("Missed bins", ref("Missed")),
                "BadRequest",
                parameters=[_DATE],
            )
        },
        f"{base}/bins/{{bin_id}}/history": {
            "get": _dispatch(
                "dispatch_bin_history",
                "A bin's visits",
                _json("Visits", ref("BinHistory")),
                "NotFound",
                parameters=[_path("bin_id", "e.g. BIN-0001")],
            )
        },
    }


def _socketio() -> JSON:
    trucks = obj(("trucks",), trucks=array(ref("TruckPosition")))
    return {
        "path": "/socket.io",
        "namespaces": {
            "/live": {
                "description": "Public; trucks off shift are left out.",
                "events": {
                    "positions": trucks,
                    "bins": obj(("bins",), bins=array(ref("BinUpdate"))),
                    "driven": ref("Driven"),
                },
            },
            "/dispatch": {
                "description": "Signed-in dispatchers only (session cookie).",
                "events": {
                    "positions": trucks,
                    "alert": ref("Alert"),
                    "coverage": obj(("routes",), routes=array(ref("RouteStatus"))),
                },
            },
        },
    }


def document() -> JSON:
    """The whole document, a fresh copy each call (callers such as test tools may change it)."""
    spec_path = {
        "get": _op(
            "openapi", _PUBLIC, "This document", {"200": _json("OpenAPI 3.1", {"type": "object"})}
        )
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Kupang Fleet", "version": "1", "description": _DESCRIPTION},
        "tags": [{"name": _DEVICES}, {"name": _PUBLIC}, {"name": _DISPATCH}],
        "paths": {
            "/osmand": {m: _osmand(m) for m in ("get", "post", "put")},
            "/api/v1/pings": {"post": _pings()},
            "/api/v1/openapi.json": spec_path,
        }
        | _public_paths()
        | _dispatch_paths(),
        "components": COMPONENTS,
        "x-socketio": _socketio(),
    }


@bp.get("/api/v1/openapi.json")
def openapi() -> Response:
    return jsonify(document())
