"""Building blocks of the OpenAPI document: schema helpers, GeoJSON, errors, security.

JSON Schema 2020-12 (OpenAPI 3.1), so a nullable value is ``anyOf`` with null rather
than ``nullable: true``. Objects allow extra members: adding a field to a response
must not break a client, nor the tests that hold the server to this document.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ANY_GEOMETRY",
    "AREAS",
    "COUNT",
    "DATE",
    "FIX_TIME",
    "GEOMETRIES",
    "HHMM",
    "JSON",
    "LINES",
    "RESPONSES",
    "SECURITY",
    "TIME",
    "array",
    "boolean",
    "feature_collection",
    "integer",
    "nullable",
    "number",
    "obj",
    "ref",
    "string",
]

JSON = dict[str, Any]


def ref(name: str, kind: str = "schemas") -> JSON:
    return {"$ref": f"#/components/{kind}/{name}"}


def nullable(schema: JSON) -> JSON:
    """``schema`` or JSON null: how the API says "not known" or "not yet"."""
    return {"anyOf": [schema, {"type": "null"}]}


def obj(required: tuple[str, ...] = (), description: str | None = None, **props: JSON) -> JSON:
    schema: JSON = {"type": "object", "properties": props}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


def array(items: JSON, **limits: int) -> JSON:
    return {"type": "array", "items": items, **limits}


def _typed(kind: str, description: str | None, extra: dict[str, Any]) -> JSON:
    schema: JSON = {"type": kind, **extra}
    if description:
        schema["description"] = description
    return schema


def string(description: str | None = None, **extra: Any) -> JSON:
    return _typed("string", description, extra)


def number(description: str | None = None, **extra: Any) -> JSON:
    return _typed("number", description, extra)


def integer(description: str | None = None, **extra: Any) -> JSON:
    return _typed("integer", description, extra)


def boolean(description: str | None = None) -> JSON:
    return _typed("boolean", description, {})


TIME = string("ISO-8601 date and time with offset", format="date-time")
DATE = string("local (WITA) calendar day", format="date")
HHMM = string("local (WITA) time of day", pattern=r"^\d{2}:\d{2}$")
COUNT = integer(minimum=0)
FIX_TIME = {
    "anyOf": [
        number("epoch seconds, or milliseconds from 2^31 on", minimum=0),
        string("ISO-8601, or `yyyy-MM-dd HH:mm:ss`; without an offset Kupang wall time"),
    ]
}


def geometry(kind: str, coordinates: JSON) -> JSON:
    """A GeoJSON geometry of one ``kind`` (RFC 7946: WGS84, lon/lat order)."""
    return obj(("type", "coordinates"), type=string(const=kind), coordinates=coordinates)


def feature_collection(geometry_schema: JSON, properties: JSON) -> JSON:
    """A FeatureCollection whose features all have this geometry and these properties."""
    feature = obj(
        ("type", "geometry", "properties"),
        type=string(const="Feature"),
        geometry=geometry_schema,
        properties=properties,
    )
    return obj(
        ("type", "features"),
        type=string(const="FeatureCollection"),
        features=array(feature),
    )


_LINE = array(ref("Position"), minItems=2)
_RING = array(ref("Position"), minItems=4)

GEOMETRIES: dict[str, JSON] = {
    "Position": array(number(), minItems=2, maxItems=3) | {"description": "lon, lat[, alt]"},
    "Point": geometry("Point", ref("Position")),
    "LineString": geometry("LineString", _LINE),
    "MultiLineString": geometry("MultiLineString", array(_LINE)),
    "Polygon": geometry("Polygon", array(_RING, minItems=1)),
    "MultiPolygon": geometry("MultiPolygon", array(array(_RING, minItems=1))),
}
LINES = {"oneOf": [ref("LineString"), ref("MultiLineString")]}
AREAS = {"oneOf": [ref("Polygon"), ref("MultiPolygon")]}
ANY_GEOMETRY = {"oneOf": [ref("Point"), ref("Polygon"), ref("MultiPolygon")]}


def _error(description: str, retry_after: bool = False) -> JSON:
    response: JSON = {
        "description": description,
        "content": {"application/json": {"schema": ref("Error")}},
    }
    if retry_after:
        wait = integer("seconds to wait before retrying", minimum=1)
        response["headers"] = {"Retry-After": {"required": True, "schema": wait}}
    return response


RESPONSES: dict[str, JSON] = {
    "BadRequest": _error("A malformed input; `field` names it as the client sent it."),
    "Unauthorized": _error("No valid credentials."),
    "NotFound": _error("Nothing by that name."),
    "TooLarge": _error("Request body larger than the server accepts."),
    "TooManyRequests": _error("This device sends too fast; retry later.", retry_after=True),
    "Unavailable": _error("The database is away for a moment; retry later.", retry_after=True),
}

SECURITY: dict[str, JSON] = {
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
