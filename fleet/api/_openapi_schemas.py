"""Building blocks of the OpenAPI document: schema helpers and the shared components.

Kept apart from the paths so that each response shape is written once and named; the
paths in ``fleet.api.openapi`` refer to them with ``ref``. JSON Schema 2020-12 (OpenAPI
3.1), so a nullable value is a type list, not ``nullable: true``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "COMPONENTS",
    "JSON",
    "array",
    "feature_collection",
    "nullable",
    "obj",
    "ref",
]

JSON = dict[str, Any]


def ref(name: str, kind: str = "schemas") -> JSON:
    return {"$ref": f"#/components/{kind}/{name}"}


def nullable(schema: JSON) -> JSON:
    """``schema`` or JSON null: how the API reports "not known yet"."""
    return {"anyOf": [schema, {"type": "null"}]}


def obj(required: tuple[str, ...] = (), description: str | None = None, **props: JSON) -> JSON:
    """An object with ``props``; extra members are allowed, so adding a field is compatible."""
    schema: JSON = {"type": "object", "properties": props}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


def array(items: JSON, **limits: int) -> JSON:
    return {"type": "array", "items": items, **limits}


def string(description: str | None = None, **extra: Any) -> JSON:
    schema: JSON = {"type": "string", **extra}
    if description:
        schema["description"] = description
    return schema


def number(description: str | None = None, **extra: Any) -> JSON:
    schema: JSON = {"type": "number", **extra}
    if description:
        schema["description"] = description
    return schema


def _position(length: int) -> JSON:
    """A GeoJSON position: lon, lat (WGS84), optionally altitude."""
    return array(number(), minItems=length, maxItems=3)


_LINE = array(ref("Position"), minItems=2)
_RING = array(ref("Position"), minItems=4)


def geometry(kind: str, coordinates: JSON) -> JSON:
    """A GeoJSON geometry object of one ``kind`` (RFC 7946, lon/lat order)."""
    return obj(
        ("type", "coordinates"),
        type={"type": "string", "const": kind},
        coordinates=coordinates,
    )


def feature_collection(geometry_schema: JSON, properties: JSON) -> JSON:
    """A FeatureCollection whose features all have this geometry and these properties."""
    feature = obj(
        ("type", "geometry", "properties"),
        type={"type": "string", "const": "Feature"},
        geometry=geometry_schema,
        properties=properties,
    )
    return obj(
        ("type", "features"),
        type={"type": "string", "const": "FeatureCollection"},
        features=array(feature),
    )


_TIME = string("ISO-8601 date and time with offset", format="date-time")
_DATE = string("local (WITA) calendar day", format="date")
_HHMM = string("local (WITA) time of day", pattern=r"^\d{2}:\d{2}$")
_COUNT = {"type": "integer", "minimum": 0}

_GEOMETRIES: dict[str, JSON] = {
    "Position": _position(2),
    "Point": geometry("Point", ref("Position")),
    "LineString": geometry("LineString", _LINE),
    "MultiLineString": geometry("MultiLineString", array(_LINE)),
    "Polygon": geometry("Polygon", array(_RING, minItems=1)),
    "MultiPolygon": geometry("MultiPolygon", array(array(_RING, minItems=1))),
}
_LINES = {"oneOf": [ref("LineString"), ref("MultiLineString")]}
_AREAS = {"oneOf": [ref("Polygon"), ref("MultiPolygon")]}
_ANY_GEOMETRY = {"oneOf": [ref("Point"), ref("Polygon"), ref("MultiPolygon")]}

_DEVICE_SCHEMAS: dict[str, JSON] = {
    "Error": obj(
        ("error",),
        "What went wrong, in English; ``field`` names the offending input as the client sent it.",
        error=string(),
        field=string(),
    ),
    "PingFix": obj(
        ("time", "lat", "lon"),
        "One buffered fix. Unknown members are kept as attributes (at most 64).",
        time={
            "oneOf": [
                string("ISO-8601; without an offset it is Kupang wall time (WITA)"),
                number("epoch seconds, or milliseconds from 2^31 on", minimum=0),
            ]
        },
        lat=number(minimum=-90, maximum=90),
        lon=number(minimum=-180, maximum=180),
        speed_mps=nullable(number(minimum=0, maximum=70)),
        heading_deg=nullable(number(minimum=0, maximum=360)),
        accuracy_m=nullable(number(minimum=0)),
        altitude_m=nullable(number()),
        battery_pct=nullable(number(minimum=0, maximum=100)),
    ),
    "PingsResult": obj(
        ("stored", "duplicates", "duplicate_indexes", "rejected"),
        stored=_COUNT | {"description": "fixes committed by this request"},
        duplicates=_COUNT | {"description": "fixes already stored earlier (safe to drop)"},
        duplicate_indexes=array(_COUNT),
        rejected=array(
            obj(("index", "field", "error"), index=_COUNT, field=string(), error=string())
        ),
    ),
    "TraccarLocation": obj(
        ("location",),
        "Traccar Client 9's JSON location; speeds in m/s, -1 for unknown.",
        device_id={"oneOf": [string(maxLength=128), {"type": "integer"}]},
        location=obj(
            timestamp={"oneOf": [string(), number()]},
            coords=obj(
                latitude=number(minimum=-90, maximum=90),
                longitude=number(minimum=-180, maximum=180),
                speed=nullable(number()),
                heading=nullable(number()),
                accuracy=nullable(number()),
                altitude=nullable(number()),
            ),
            battery=obj(level=nullable(number()), is_charging={"type": "boolean"}),
            is_moving={"type": "boolean"},
            odometer=number(),
            event=string(),
            activity=obj(type=string()),
            extras={"type": "object"},
        ),
    ),
}

_TRUCK = obj(
    ("id", "route_id", "lat", "lon", "status", "fix_time"),
    "A truck's newest fix: fleet code and route, never the device.",
    id=string("fleet code, e.g. KP-01"),
    route_id=nullable(string()),
    lat=number(),
    lon=number(),
    heading=nullable(number()),
    speed_kmh=nullable(number()),
    progress_m=nullable(number()),
    status=string(enum=["on_route", "off_route", "stale", "offline"]),
    fix_time=_TIME,
)
_COVERAGE_ROW = obj(
    scheduled=_COUNT,
    serviced=_COUNT,
    passed=_COUNT,
    missed=_COUNT,
    pending=_COUNT,
    coverage_pct=nullable(number()),
    progress_km=nullable(number()),
    length_km=nullable(number()),
)

_PUBLIC_SCHEMAS: dict[str, JSON] = {
    "Config": obj(
        ("tile_url", "tile_attribution", "center", "zoom", "time_zone"),
        tile_url=string(),
        tile_attribution=string(),
        center=array(number(), minItems=2, maxItems=2) | {"description": "[lat, lon]"},
        zoom={"type": "integer"},
        time_zone=string(),
    ),
    "Routes": feature_collection(
        _LINES,
        obj(
            ("route_id", "truck_id", "name", "kecamatan", "color", "length_m"),
            route_id=string(),
            truck_id=nullable(string()),
            name=string(),
            kecamatan=string(),
            color=string(pattern="^#[0-9a-fA-F]{6}$"),
            length_m=number(minimum=0),
            schedule_days=array(string(enum=["mon", "tue", "wed", "thu", "fri", "sat", "sun"])),
            shift_start=_HHMM,
            shift_end=_HHMM,
        ),
    ),
    "Bins": feature_collection(
        ref("Point"),
        obj(
            ("bin_id", "status", "route_id", "service_class"),
            bin_id=string(),
            status=string(enum=["installed", "planned"]),
            route_id=nullable(string()),
            kecamatan=string(),
            kelurahan=string(),
            last_serviced_at=nullable(_TIME),
            service_class=ref("ServiceClass"),
        ),
    ),
    "ServiceClass": string(enum=["today", "yesterday", "older", "never", "planned"]),
    "Kecamatan": feature_collection(
        _AREAS, obj(("name", "kode"), name=string(), kode=string(), kelurahan=array(string()))
    ),
    "Kelurahan": feature_collection(
        _AREAS, obj(("name", "kode", "kecamatan"), name=string(), kode=string(), kecamatan=string())
    ),
    "Sites": feature_collection(
        _ANY_GEOMETRY,
        obj(
            ("site_id", "kind", "name"),
            site_id=string(),
            kind=string("depot, landfill or processing (transfer/compost) site"),
            name=string(),
            kecamatan=string(),
        ),
    ),
    "Trucks": feature_collection(ref("Point"), ref("TruckPosition")),
    "TruckPosition": _TRUCK,
    "Places": obj(
        ("places",),
        places=array(
            obj(
                ("name", "kind", "lat", "lon"),
                name=string(),
                kind=string(enum=["kelurahan", "street"]),
                kecamatan=string(),
                lat=number(),
                lon=number(),
            ),
            maxItems=20,
        ),
    ),
    "Eta": obj(
        ("route_id", "distance_m", "passed_today", "scheduled_today"),
        route_id=string(),
        truck_id=nullable(string()),
        route_color=string(),
        distance_m=number(minimum=0, maximum=500),
        passed_today={"type": "boolean"},
        passed_at=nullable(_TIME),
        eta=nullable(_TIME),
        eta_minutes=nullable(number()),
        scheduled_today={"type": "boolean"},
        shift_start=nullable(_HHMM),
        shift_end=nullable(_HHMM),
    ),
    "Driven": feature_collection(
        _LINES, obj(("route_id",), route_id=string(), truck_id=nullable(string()))
    ),
    "CoverageRow": _COVERAGE_ROW,
    "Coverage": obj(
        ("date", "city", "routes", "trucks", "kecamatan", "trips"),
        date=_DATE,
        city=ref("CoverageRow"),
        routes=array(ref("CoverageRow")),
        trucks=array(ref("CoverageRow")),
        kecamatan=array(ref("CoverageRow")),
        trips={"type": "object", "description": "dump trips to landfill and depots"},
    ),
    "BinUpdate": obj(
        ("bin_id", "last_serviced_at", "service_class"),
        bin_id=string(),
        last_serviced_at=_TIME,
        service_class=ref("ServiceClass"),
    ),
}

_DISPATCH_SCHEMAS: dict[str, JSON] = {
    "Session": obj(("user", "csrf_token"), user=string(), role=string(), csrf_token=string()),
    "RouteStatus": obj(
        ("route_id",),
        route_id=string(),
        truck_id=nullable(string()),
        device_status=nullable(string()),
        progress_pct=nullable(number()),
        bins_scheduled=_COUNT,
        bins_serviced=_COUNT,
        bins_passed=_COUNT,
        bins_missed=_COUNT,
        last_contact=nullable(_TIME),
    ),
    "RouteStatuses": obj(("routes",), date=_DATE, routes=array(ref("RouteStatus"))),
    "Alert": obj(
        ("id", "kind"),
        id={"type": "integer"},
        kind=string(enum=["off_route", "stale", "offline", "missed_bins", "idle"]),
        truck_id=nullable(string()),
        route_id=nullable(string()),
        created_at=_TIME,
        acked_at=nullable(_TIME),
        acked_by=nullable(string()),
        details={"type": "object"},
    ),
    "Alerts": obj(("alerts",), alerts=array(ref("Alert"))),
    "History": obj(
        ("truck_id", "date", "fixes"),
        truck_id=string(),
        date=_DATE,
        fixes=array(
            obj(
                ("time", "lat", "lon"),
                time=_TIME,
                lat=number(),
                lon=number(),
                speed_mps=nullable(number()),
                heading_deg=nullable(number()),
                route_id=nullable(string()),
                progress_m=nullable(number()),
                on_route=nullable({"type": "boolean"}),
            )
        ),
    ),
    "Missed": obj(("date",), date=_DATE, bins=array({"type": "object"})),
    "BinHistory": obj(("bin_id",), bin_id=string(), visits=array({"type": "object"})),
}


def _error_response(description: str, retry_after: bool = False) -> JSON:
    response: JSON = {
        "description": description,
        "content": {"application/json": {"schema": ref("Error")}},
    }
    if retry_after:
        response["headers"] = {
            "Retry-After": {
                "description": "seconds to wait before retrying",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            }
        }
    return response


_RESPONSES: dict[str, JSON] = {
    "BadRequest": _error_response("A malformed input; `field` names it."),
    "Unauthorized": _error_response("No valid credentials."),
    "NotFound": _error_response("Nothing by that name."),
    "TooLarge": _error_response("Request body larger than the server accepts."),
    "TooManyRequests": _error_response("This device sends too fast; retry later.", True),
    "Unavailable": _error_response("The database is away for a moment; retry later.", True),
}

_SECURITY: dict[str, JSON] = {
    "deviceBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "The device identifier registered for the truck (`fleet device add`).",
    },
    "dispatcherSession": {
        "type": "apiKey",
        "in": "cookie",
        "name": "session",
        "description": "Session cookie set by signing in at /login.",
    },
}

COMPONENTS: JSON = {
    "schemas": _GEOMETRIES | _DEVICE_SCHEMAS | _PUBLIC_SCHEMAS | _DISPATCH_SCHEMAS,
    "responses": _RESPONSES,
    "securitySchemes": _SECURITY,
}
