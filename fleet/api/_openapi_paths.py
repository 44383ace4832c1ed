"""The paths of the OpenAPI document: devices, public map and reports, dispatchers.

Every operation lists the statuses it can answer with; all of them can meet a database
that is away for a moment (503 with Retry-After).
"""

from __future__ import annotations

from typing import Any

from fleet.api._openapi_schemas import FIX_TIME, JSON, array, obj, ref

__all__ = ["PATHS"]

_DEVICES, _PUBLIC, _DISPATCH = "devices", "public", "dispatch"
_ERRORS = {
    "BadRequest": "400",
    "Unauthorized": "401",
    "NotFound": "404",
    "TooLarge": "413",
    "TooManyRequests": "429",
    "Unavailable": "503",
}


def _query(name: str, schema: JSON, description: str = "", required: bool = False) -> JSON:
    param: JSON = {"name": name, "in": "query", "required": required, "schema": schema}
    return param | ({"description": description} if description else {})


def _in_path(name: str, schema: JSON, description: str) -> JSON:
    return {"name": name, "in": "path", "required": True, "schema": schema} | {
        "description": description
    }


def _json(description: str, schema: JSON) -> JSON:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _file(description: str, media: dict[str, JSON]) -> JSON:
    return {"description": description, "content": {k: {"schema": v} for k, v in media.items()}}


def _errors(*names: str) -> dict[str, JSON]:
    return {_ERRORS[name]: ref(name, "responses") for name in names}


def _op(operation_id: str, tag: str, summary: str, ok: JSON, *errors: str, **extra: Any) -> JSON:
    """An operation answering ``ok`` (200) or one of the named error responses."""
    responses = {"200": ok} | _errors(*errors, "Unavailable") | extra.pop("responses", {})
    operation = {"operationId": operation_id, "tags": [tag], "summary": summary}
    return operation | {"responses": responses} | extra


_DAY = _query("date", {"type": "string", "format": "date"}, "local (WITA) day; default today")
_TEXT = {"type": "string"}
_LAT_LON = {"type": "string", "pattern": r"^-?\d+(\.\d+)?,-?\d+(\.\d+)?$"}
_GEOJSON = {"type": "object", "description": "GeoJSON FeatureCollection"}


#: What a phone running the OsmAnd or Traccar client sends (times in WITA wall clock).
_OSMAND_EXAMPLE = {
    "id": "kp01-phone",
    "timestamp": "2024-05-01 08:15:30",
    "lat": -10.1772,
    "lon": 123.607,
    "speed": 12.5,
    "bearing": 90,
    "altitude": 42,
    "accuracy": 8,
    "batt": 80,
}
_TRACCAR_EXAMPLE = {
    "device_id": "kp01-phone",
    "location": {
        "timestamp": "2024-05-01T00:15:30.000Z",
        "coords": {"latitude": -10.1772, "longitude": 123.607, "speed": 6.4, "heading": 90},
        "battery": {"level": 0.8, "is_charging": False},
        "is_moving": True,
    },
}


def _osmand_params() -> list[JSON]:
    num = {"type": "number"}
    ident = {"type": "string", "maxLength": 128}
    params = [
        _query("id", ident, "device identifier"),
        _query("deviceid", ident, "device identifier (older clients)"),
        _query("timestamp", FIX_TIME),
        _query("lat", num | {"minimum": -90, "maximum": 90}),
        _query("lon", num | {"minimum": -180, "maximum": 180}),
        _query("location", _LAT_LON, "`lat,lon` instead of lat and lon"),
        _query("speed", num | {"minimum": 0}, "knots"),
        _query("bearing", num | {"minimum": 0, "maximum": 360}, "degrees"),
        _query("heading", num | {"minimum": 0, "maximum": 360}, "degrees"),
        _query("altitude", num, "metres"),
        _query("accuracy", num | {"minimum": 0}, "metres"),
        _query("batt", num | {"minimum": 0, "maximum": 100}, "percent"),
        _query("hdop", num | {"minimum": 0}),
    ]
    return [
        p | {"example": _OSMAND_EXAMPLE[p["name"]]} if p["name"] in _OSMAND_EXAMPLE else p
        for p in params
    ]


def _osmand(method: str) -> JSON:
    """One OsmAnd request; the form body is read only when the URL has no query."""
    params = _osmand_params()
    form = obj(**{p["name"]: p["schema"] for p in params})
    body = {
        "required": False,
        "content": {
            "application/x-www-form-urlencoded": {"schema": form, "example": _OSMAND_EXAMPLE},
            "application/json": {"schema": ref("TraccarLocation"), "example": _TRACCAR_EXAMPLE},
        },
    }
    extra: JSON = {"parameters": params}
    if method != "get":
        extra["requestBody"] = body
    unknown = _json("Unknown or disabled device, JSON form only (else 400)", ref("Error"))
    return _op(
        f"osmand_{method}",
        _DEVICES,
        "One fix, or a heartbeat without coordinates",
        {"description": "Committed; empty body"},
        "BadRequest",
        "TooLarge",
        "TooManyRequests",
        responses={"404": unknown},
        **extra,
    )


def _pings() -> JSON:
    fixes = array(ref("PingFix"), maxItems=1000)
    example = [
        {"time": "2024-05-01T08:15:30+08:00", "lat": -10.1772, "lon": 123.607, "speed_mps": 6.4},
        {
            "time": 1714522535,
            "lat": -10.1771,
            "lon": 123.6072,
            "heading_deg": 90,
            "battery_pct": 80,
        },
    ]
    return _op(
        "pings",
        _DEVICES,
        "A batch of buffered fixes, each accepted or rejected on its own",
        _json("What became of each fix", ref("PingsResult")),
        "BadRequest",
        "Unauthorized",
        "TooLarge",
        "TooManyRequests",
        requestBody={
            "required": True,
            "content": {"application/json": {"schema": fixes, "example": example}},
        },
        security=[{"deviceBearer": []}],
    )


def _layer(operation_id: str, summary: str, schema: str) -> JSON:
    return {"get": _op(operation_id, _PUBLIC, summary, _json(summary, ref(schema)))}


def _public() -> dict[str, JSON]:
    lat = _query("lat", {"type": "number", "minimum": -90, "maximum": 90}, required=True)
    lon = _query("lon", {"type": "number", "minimum": -180, "maximum": 180}, required=True)
    q = _query("q", {"type": "string", "maxLength": 200}, "two letters or more")
    formats = {"type": "string", "enum": ["csv", "geojson", "gpkg"], "default": "csv"}
    export = _file(
        "One row per scheduled bin: its state that day, when and by which truck",
        {
            "text/csv": _TEXT,
            "application/geo+json": _GEOJSON,
            "application/geopackage+sqlite3": {"type": "string", "format": "binary"},
        },
    )
    ok = _json
    return {
        "/api/v1/config": _layer("config", "Map settings", "Config"),
        "/api/v1/routes": _layer("routes", "Planned collection routes", "Routes"),
        "/api/v1/bins": _layer("bins", "Bin locations and their last service", "Bins"),
        "/api/v1/kecamatan": _layer("kecamatan", "District boundaries", "Kecamatan"),
        "/api/v1/kelurahan": _layer("kelurahan", "Village boundaries", "Kelurahan"),
        "/api/v1/sites": _layer("sites", "Depots, landfill and processing sites", "Sites"),
        "/api/v1/trucks": _layer("trucks", "Trucks on shift, newest fix each", "Trucks"),
        "/api/v1/places": {
            "get": _op("places", _PUBLIC, "Find kelurahan and streets by name",
                       ok("Matches", ref("Places")), "BadRequest", parameters=[q])
        },
        "/api/v1/eta": {
            "get": _op("eta", _PUBLIC, "When the truck comes past a spot",
                       ok("The nearest route within 500 m", ref("Eta")),
                       "BadRequest", "NotFound", parameters=[lat, lon])
        },
        "/api/v1/driven": {
            "get": _op("driven", _PUBLIC, "Stretches of each route driven on a day",
                       ok("Driven stretches", ref("Driven")), "BadRequest", parameters=[_DAY])
        },
        "/api/v1/coverage": {
            "get": _op("coverage", _PUBLIC, "Coverage report of a day",
                       ok("City, route, truck and kecamatan totals", ref("Coverage")),
                       "BadRequest", parameters=[_DAY])
        },
        "/api/v1/coverage/export": {
            "get": _op("coverage_export", _PUBLIC, "The day's coverage per bin, as a file",
                       export, "BadRequest", parameters=[_DAY, _query("format", formats)])
        },
    }  # fmt: skip


def _dispatch(operation_id: str, summary: str, ok: JSON, *errors: str, **extra: Any) -> JSON:
    """A dispatcher operation: session cookie, else 401 with a JSON error."""
    security: list[JSON] = [{"dispatcherSession": []}]
    return _op(
        operation_id, _DISPATCH, summary, ok, "Unauthorized", *errors, security=security, **extra
    )


def _dispatcher() -> dict[str, JSON]:
    base = "/api/v1/dispatch"
    csrf = {"name": "X-CSRFToken", "in": "header", "required": True, "schema": _TEXT}
    alert_id = _in_path("alert_id", {"type": "integer"}, "the alert's id")
    truck_id = _in_path("truck_id", {"type": "string", "maxLength": 64}, "fleet code, e.g. KP-01")
    bin_id = _in_path("bin_id", {"type": "string", "maxLength": 64}, "e.g. BIN-0001")
    formats = {"type": "string", "enum": ["json", "gpx", "csv", "geojson"], "default": "json"}
    history = _file(
        "The truck's fixes of the day, for replay or export",
        {
            "application/json": ref("History"),
            "application/gpx+xml": _TEXT,
            "text/csv": _TEXT,
            "application/geo+json": _GEOJSON,
        },
    )
    ok = _json
    return {
        f"{base}/session": {"get": _dispatch(
            "dispatch_session", "Who is signed in, and the CSRF token for POSTs",
            ok("The session", ref("Session")))},
        f"{base}/routes": {"get": _dispatch(
            "dispatch_routes", "Every route's truck, device and progress on a day",
            ok("One row per route", ref("RouteStatuses")), "BadRequest", parameters=[_DAY])},
        f"{base}/alerts": {"get": _dispatch(
            "dispatch_alerts", "Recent alerts", ok("Newest first", ref("Alerts")))},
        f"{base}/alerts/{{alert_id}}/ack": {"post": _dispatch(
            "dispatch_ack", "Acknowledge an alert (needs the session's CSRF token)",
            ok("The acknowledged alert", ref("Alert")), "BadRequest", "NotFound",
            parameters=[alert_id, csrf])},
        f"{base}/history/{{truck_id}}": {"get": _dispatch(
            "dispatch_history", "A truck's track of a day", history, "BadRequest", "NotFound",
            parameters=[truck_id, _DAY, _query("format", formats)])},
        f"{base}/missed": {"get": _dispatch(
            "dispatch_missed", "Bins missed or only passed on a day",
            ok("Missed bins", ref("Missed")), "BadRequest", parameters=[_DAY])},
        f"{base}/bins/{{bin_id}}/history": {"get": _dispatch(
            "dispatch_bin_history", "Every recorded visit of a bin",
            ok("Visits, newest day first", ref("BinHistory")), "NotFound", parameters=[bin_id])},
    }  # fmt: skip


PATHS: dict[str, JSON] = {
    "/osmand": {method: _osmand(method) for method in ("get", "post", "put")},
    "/api/v1/pings": {"post": _pings()},
    "/api/v1/openapi.json": {
        "get": _op("openapi", _PUBLIC, "This document", _json("OpenAPI 3.1", {"type": "object"}))
    },
    **_public(),
    **_dispatcher(),
}
